package h1

import (
	"fmt"
	"net/http"
	"strconv"

	"golang.org/x/net/http/httpguts"
)

// pendingMax is how much body a handler may write without a
// Content-Length before the response goes out chunked (net/http's 2048):
// a shorter body that ends with the handler gets a Content-Length.
const pendingMax = 2 << 10

// response is the http.ResponseWriter (and http.Flusher) of a request.
// The status line and header fields go into the connection's write buffer
// when the status is set (a snapshot, as net/http takes); the framing
// (Content-Length, chunked, or close-delimited for HTTP/1.0) and
// Connection lines close the head when the first body bytes go out, or
// when the handler returns.
type response struct {
	c      *conn
	header http.Header

	status      int
	wroteHeader bool
	committed   bool
	head        bool // HEAD: the body is counted, not sent
	bodyOK      bool
	minor       int
	keepAlive10 bool
	cl          int64 // Content-Length set by the handler; -1: none
	written     int64
	chunked     bool
	closeAfter  bool
	// start is where this response begins in the write buffer (before
	// commit, nothing of it has been sent).
	start   int
	pending []byte
}

func (w *response) reset(hd *head, shutting bool) {
	w.status, w.wroteHeader, w.committed = 0, false, false
	w.head = hd.method == http.MethodHead
	w.bodyOK = true
	w.minor, w.keepAlive10 = hd.minor, hd.keepAlive10
	w.cl, w.written, w.chunked = -1, 0, false
	w.closeAfter = hd.close || shutting
	w.pending = w.pending[:0]
	clear(w.header)
}

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 {
		return // 1xx: never sent, not final
	}
	w.wroteHeader, w.status = true, code
	w.bodyOK = code != http.StatusNoContent && code != http.StatusNotModified
	if v := w.header["Content-Length"]; len(v) > 0 {
		if n, ok := parseLength(v[0]); ok && len(v) == 1 {
			w.cl = n
		}
	}
	if v := w.header["Connection"]; httpguts.HeaderValuesContainsToken(v, "close") {
		w.closeAfter = true
	}

	c := w.c
	w.start = len(c.wbuf)
	b := appendStatusLine(c.wbuf, w.minor, code)
	for k, vv := range w.header {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Connection":
			continue // the framing is the server's
		}
		if !validFieldName(k) {
			continue
		}
		for _, v := range vv {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendValue(b, v)
			b = append(b, "\r\n"...)
		}
	}
	if _, ok := w.header["Date"]; !ok {
		b = append(b, c.s.clock.dateLine()...)
	}
	c.wbuf = b
}

// commit ends the head with the framing and Connection lines. final says
// the handler returned: the pending body is then the whole body.
func (w *response) commit(final bool) {
	w.committed = true
	c := w.c
	b := c.wbuf
	switch {
	case !w.bodyOK:
		if w.status == http.StatusNotModified && w.cl >= 0 {
			b = appendLength(b, w.cl)
		}
	case w.cl >= 0:
		b = appendLength(b, w.cl)
	case final && (!w.head || w.written > 0):
		w.cl = w.written
		b = appendLength(b, w.cl)
	case w.head:
		// A HEAD whose GET would stream: no framing to announce.
	case w.minor == 0:
		w.closeAfter = true // the body ends with the connection
	default:
		w.chunked = true
		b = append(b, "Transfer-Encoding: chunked\r\n"...)
	}
	switch {
	case w.closeAfter:
		b = append(b, "Connection: close\r\n"...)
	case w.minor == 0:
		b = append(b, "Connection: keep-alive\r\n"...)
	}
	c.wbuf = append(b, "\r\n"...)
	if len(w.pending) > 0 && !w.head {
		p := w.pending
		w.pending = w.pending[:0]
		w.writeBody(p)
	}
}

func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyOK {
		return 0, http.ErrBodyNotAllowed
	}
	if w.c.werr != nil {
		return 0, w.c.werr
	}
	var err error
	if w.cl >= 0 && w.written+int64(len(p)) > w.cl {
		p, err = p[:w.cl-w.written], http.ErrContentLength
	}
	w.written += int64(len(p))
	if w.head {
		return len(p), err
	}
	if !w.committed {
		if w.cl < 0 && len(w.pending)+len(p) <= pendingMax {
			w.pending = append(w.pending, p...)
			return len(p), err
		}
		w.commit(false)
	}
	if werr := w.writeBody(p); werr != nil {
		return 0, werr
	}
	return len(p), err
}

// writeBody sends body bytes after the head, framed.
func (w *response) writeBody(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	c := w.c
	if !w.chunked {
		return c.write(p)
	}
	c.wbuf = strconv.AppendInt(c.wbuf, int64(len(p)), 16)
	c.wbuf = append(c.wbuf, "\r\n"...)
	if err := c.write(p); err != nil {
		return err
	}
	c.wbuf = append(c.wbuf, "\r\n"...)
	return nil
}

// Flush sends what the handler wrote so far.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush, reporting a write error (http.ResponseController).
func (w *response) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false)
	}
	return w.c.flush()
}

// finish completes the response after the handler returned.
func (w *response) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true)
	}
	if w.chunked {
		w.c.wbuf = append(w.c.wbuf, "0\r\n\r\n"...)
	}
	if w.cl >= 0 && w.bodyOK && !w.head && w.written < w.cl {
		// Short of its Content-Length: the client would wait for the
		// rest; closing tells it the body is cut.
		w.closeAfter = true
	}
}

// abort drops what a panicking handler did not commit.
func (w *response) abort() {
	if w.wroteHeader && !w.committed {
		w.c.wbuf = w.c.wbuf[:w.start]
	}
}

func appendLength(b []byte, n int64) []byte {
	b = append(b, "Content-Length: "...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, "\r\n"...)
}

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }

// appendStatusLine appends "HTTP/1.x code text\r\n".
func appendStatusLine(b []byte, minor, code int) []byte {
	if minor == 1 && code == http.StatusOK {
		return append(b, "HTTP/1.1 200 OK\r\n"...)
	}
	b = append(b, "HTTP/1."...)
	b = append(b, byte('0'+minor), ' ')
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if text := http.StatusText(code); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	return append(b, "\r\n"...)
}

// appendValue appends a header value with CR and LF turned to spaces (no
// response splitting) and surrounding blanks trimmed, as net/http does.
func appendValue(b []byte, v string) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	start := len(b)
	b = append(b, v...)
	for i := start; i < len(b); i++ {
		if b[i] == '\r' || b[i] == '\n' {
			b[i] = ' '
		}
	}
	return b
}

func validFieldName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !tokenChar[k[i]] {
			return false
		}
	}
	return true
}
