package control

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/smd-media/smd/internal/strictjson"
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

// decodeJSON reads one strict JSON object into v (strictjson: valid UTF-8,
// one value, no duplicate or unknown members), answering what is wrong in
// the API's words, naming the field. An empty body leaves v as it is when
// allowEmpty.
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
	if err := strictjson.Decode(b, v); err != nil {
		return jsonBadRequest(err)
	}
	return nil
}

// jsonBadRequest is the answer to a body strictjson refused.
func jsonBadRequest(err error) *Error {
	var e *strictjson.Error
	if !errors.As(err, &e) {
		return badRequest(codeInvalidJSON, "", "the body is not valid JSON")
	}
	if e.Field == "" {
		return badRequest(codeInvalidJSON, "", "%s", e.Problem)
	}
	return badRequest(codeInvalidField, e.Field, "%s", e.Error())
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
