package origin

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Cache-Control values.
const (
	// cacheSegment: initialization and media segments never change, VOD or
	// live (live segment n is the same bytes for a given epoch).
	cacheSegment = "public, max-age=31536000, immutable"
	// cacheVODManifest: VOD playlists and manifests do not change either,
	// but a short life lets a new clip replace them.
	cacheVODManifest = "public, max-age=60"
	// cacheLiveManifest: live playlists and manifests change every segment.
	cacheLiveManifest = "public, max-age=1"
	// cacheNone: errors (a live segment missing now exists in a moment),
	// the clock and the health check.
	cacheNone = "no-store"
)

// httpError is an error that decides the response: status and msg go to
// the client, err (the cause, if any) only to the log.
type httpError struct {
	status int
	msg    string
	err    error
}

func (e *httpError) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}

func (e *httpError) Unwrap() error { return e.err }

// errNotFound answers every request for something the origin does not
// serve, including live segments not yet or no longer available.
var errNotFound = &httpError{status: http.StatusNotFound, msg: "not found"}

// handlerFunc is a handler that returns its failure rather than writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// errorWriter turns the error of a handlerFunc into the response, and logs
// server errors (only: a 404 is an answer, not a failure of the origin).
type errorWriter struct {
	log  *slog.Logger
	next handlerFunc
}

func (h errorWriter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	err := h.next(w, r)
	if err == nil {
		return
	}
	var he *httpError
	if !errors.As(err, &he) {
		he = &httpError{status: http.StatusInternalServerError, msg: "internal error", err: err}
	}
	if he.status >= 500 {
		h.log.Error("origin: request failed", "method", r.Method, "path", r.URL.Path,
			"status", he.status, "err", err)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Cache-Control", cacheNone)
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(he.status)
	io.WriteString(w, he.msg+"\n")
}

// serveBytes writes body with its headers. http.ServeContent adds
// Content-Length, answers Range, HEAD and conditional requests (If-None-Match
// against etag, If-Modified-Since against modified).
func serveBytes(w http.ResponseWriter, r *http.Request, body []byte, contentType, cacheControl, etag string, modified time.Time) {
	hdr := w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Set("Cache-Control", cacheControl)
	if etag != "" {
		hdr.Set("ETag", etag)
	}
	http.ServeContent(w, r, "", modified, bytes.NewReader(body))
}
