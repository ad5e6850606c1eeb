package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Reason codes of error answers. They are stable: clients branch on them.
const (
	codeBadRequest     = "bad_request"
	codeInvalidJSON    = "invalid_json"
	codeInvalidField   = "invalid_field"
	codeInvalidID      = "invalid_id"
	codeInvalidSession = "invalid_session_id"
	codeInvalidAsset   = "invalid_asset"
	codeInvalidImport  = "invalid_import"
	codeBodyTooLarge   = "body_too_large"
	codeKeyMissing     = "api_key_missing"
	codeKeyInvalid     = "api_key_invalid"
	codeScopeMissing   = "scope_missing"
	codeNotFound       = "not_found"
	codeAssetNotFound  = "asset_not_found"
	codeNotRevoked     = "session_not_revoked"
	codeNotAllowed     = "session_not_allowed"
	codeMethod         = "method_not_allowed"
	codeAssetExists    = "asset_exists"
	codeConflict       = "conflict"
	codeRateLimited    = "rate_limited"
	codeViewerUnknown  = "viewer_attribute_unknown"
	codeCannotSign     = "cannot_sign"
	codeNoSigningKey   = "no_signing_key"
	codeUnavailable    = "unavailable"
	codeInternal       = "internal"
)

// Error is an error answer: a status, a reason code and a message for the
// client, and a private cause for the log.
type Error struct {
	Status  int
	Code    string
	Message string
	// Field names the bad input, when there is one.
	Field string
	// Err is the cause, logged and never sent.
	Err error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// errorBody is the JSON of an error answer.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func badRequest(code, field, format string, a ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Field: field, Message: fmt.Sprintf(format, a...)}
}

func internal(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: codeInternal, Message: "internal error; see the control plane's log", Err: err}
}

// asError turns any error into an *Error (500 for unknown ones).
func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return unavailable("the state store", err)
	}
	return internal(err)
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	e := json.NewEncoder(w)
	e.SetEscapeHTML(false)
	_ = e.Encode(v)
}

// writeError writes e as JSON.
func writeError(w http.ResponseWriter, e *Error) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="smd"`)
	}
	writeJSON(w, e.Status, errorBody{Error: e.Code, Message: e.Message, Field: e.Field})
}
