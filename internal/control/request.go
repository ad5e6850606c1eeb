package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// readBody reads the whole (bounded) body.
func (a *API) readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge(a.cfg.MaxBodyBytes)
	}
	if err != nil {
		return nil, badRequest(codeBadRequest, "", "the body could not be read")
	}
	return b, nil
}

// decodeJSON reads one strict JSON object (unknown fields refused) into
// v. An empty body leaves v as it is when allowEmpty.
func (a *API) decodeJSON(r *http.Request, v any, allowEmpty bool) error {
	b, err := a.readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if allowEmpty {
			return nil
		}
		return badRequest(codeInvalidJSON, "", "a JSON body is required")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return badRequest(codeInvalidField, te.Field, "%s: want a JSON %s", te.Field, te.Type)
		}
		msg := strings.TrimPrefix(err.Error(), "json: ")
		if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
			name = strings.Trim(name, `"`)
			return badRequest(codeInvalidField, name, "%s: unknown field", name)
		}
		return badRequest(codeInvalidJSON, "", "the body is not valid JSON: %s", msg)
	}
	if _, err := d.Token(); err == nil {
		return badRequest(codeInvalidJSON, "", "data after the JSON object")
	}
	return nil
}

// page reads ?after= and ?limit=; validAfter checks the cursor.
func (a *API) page(r *http.Request, validAfter func(string) bool) (string, int, error) {
	q := r.URL.Query()
	after := q.Get("after")
	if after != "" && !validAfter(after) {
		return "", 0, badRequest(codeInvalidField, "after", "after: %q is not a valid cursor (an id from a previous page)", after)
	}
	limit := a.cfg.DefaultPageSize
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > a.cfg.MaxPageSize {
			return "", 0, badRequest(codeInvalidField, "limit", "limit: %q is not a number from 1 to %d", s, a.cfg.MaxPageSize)
		}
		limit = n
	}
	return after, limit, nil
}

// list is the JSON of a page.
type list[T any] struct {
	Items []T `json:"items"`
	// Next is the cursor of the next page (?after=), "" on the last.
	Next string `json:"next"`
}

func unavailable(what string, err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Code: codeUnavailable, Message: fmt.Sprintf("%s is unavailable; try again", what), Err: err}
}
