package cache

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serveObject answers r from a complete object.
func (c *Cache) serveObject(w http.ResponseWriter, r *Request, o *object, status string, now time.Time) Result {
	if status == Stale {
		c.stats.staleServed.Add(1)
	}
	res := Result{CacheStatus: status}
	h := w.Header()
	o.setHeader(h, now)
	if notModified(r.Header, &o.meta) {
		return writeNotModified(w, res)
	}
	br, code := byteRange{0, o.length}, http.StatusOK
	if spec, ok := rangeOf(r, &o.meta); ok {
		var out rangeOutcome
		switch br, out = spec.resolve(o.length); out {
		case rangeUnsatisfiable:
			return writeUnsatisfiable(w, o.length, res)
		case rangePart:
			code = http.StatusPartialContent
			h["Content-Range"] = []string{br.contentRange(o.length)}
		}
	}
	h["Accept-Ranges"] = acceptRangesBytes
	if code == http.StatusOK {
		h["Content-Length"] = o.lengthValue
	} else {
		h["Content-Length"] = []string{strconv.FormatInt(br.end-br.start, 10)}
	}
	w.WriteHeader(code)
	res.Status = code
	if r.Method == http.MethodHead {
		return res
	}
	n, err := w.Write(o.body[br.start:br.end])
	res.BodyBytes, res.Err = int64(n), err
	c.stats.servedBytes.Add(int64(n))
	return res
}

// serveFlight answers r from a fetch in progress, as its viewer wt.
func (c *Cache) serveFlight(ctx context.Context, w http.ResponseWriter, r *Request, f *flight, wt *waiter, started bool) Result {
	res := Result{CacheStatus: Coalesced}
	if started {
		res.CacheStatus = Miss
	}
	if err := f.await(ctx, func() bool { return f.state != fetching }); err != nil {
		res.Err = err
		return res
	}
	f.mu.Lock()
	state, m, ferr, errStatus := f.state, f.meta, f.err, f.errStatus
	res.OriginStatus = f.originStatus
	f.mu.Unlock()
	switch {
	case state == useStale:
		stale := c.serveObject(w, r, f.stale, Stale, c.now())
		stale.OriginStatus, stale.Err = res.OriginStatus, ferr
		return stale
	case state == failed:
		// Before its headers (errStatus says how), or mid-body before
		// this viewer sent anything: better a 502 than a cut response.
		if errStatus == 0 {
			errStatus = http.StatusBadGateway
		}
		return writeError(w, r, errStatus, Error, ferr)
	}

	h := w.Header()
	m.setHeader(h, c.now())
	if notModified(r.Header, m) {
		res.CacheStatus = flightStatus(f, started)
		return writeNotModified(w, res)
	}
	length, code := m.length, m.status
	br := byteRange{0, length}
	if spec, ok := rangeOf(r, m); ok {
		if length < 0 {
			// The size is needed to place the range: wait for the whole
			// body. If the fetch turns to pass mode instead, the body will
			// not be kept, and the viewer gets all of it.
			if err := f.await(ctx, func() bool { return f.state != streaming || f.pass }); err != nil {
				res.Err = err
				return res
			}
			f.mu.Lock()
			if f.state == complete && !f.pass {
				length = int64(len(f.buf))
			}
			state, ferr, errStatus = f.state, f.err, f.errStatus
			f.mu.Unlock()
			if state == failed {
				m.unsetHeader(h)
				if errStatus == 0 {
					errStatus = http.StatusBadGateway
				}
				return writeError(w, r, errStatus, Error, ferr)
			}
		}
		if length >= 0 {
			var out rangeOutcome
			switch br, out = spec.resolve(length); out {
			case rangeUnsatisfiable:
				res.CacheStatus = flightStatus(f, started)
				return writeUnsatisfiable(w, length, res)
			case rangePart:
				code = http.StatusPartialContent
				h["Content-Range"] = []string{br.contentRange(length)}
			}
		}
	}
	if length >= 0 {
		if m.status == http.StatusOK {
			h["Accept-Ranges"] = acceptRangesBytes
		}
		h["Content-Length"] = []string{strconv.FormatInt(br.end-br.start, 10)}
	} else {
		br.end = -1
	}
	w.WriteHeader(code)
	res.Status = code
	if r.Method != http.MethodHead && bodyAllowed(code) {
		res.BodyBytes, res.Err = c.copyFlight(ctx, w, f, wt, br, code != http.StatusPartialContent)
	}
	res.CacheStatus = flightStatus(f, started)
	if res.CacheStatus == Bypass {
		c.stats.passthroughs.Add(1)
	}
	return res
}

// copyFlight sends the body bytes br (to the end if br.end is -1) of f to w
// as they arrive, flushing whenever it has to wait for more. whole says br
// is the whole body.
func (c *Cache) copyFlight(ctx context.Context, w http.ResponseWriter, f *flight, wt *waiter, br byteRange, whole bool) (int64, error) {
	rc := http.NewResponseController(w)
	flush := func() { _ = rc.Flush() }
	var sent int64
	defer func() { c.stats.servedBytes.Add(sent) }()
	for off := br.start; ; {
		b, err := f.read(ctx, wt, off, br.end, flush)
		if len(b) > 0 {
			n, werr := w.Write(b)
			off += int64(n)
			sent += int64(n)
			if werr != nil {
				return sent, werr
			}
			continue
		}
		switch {
		case err == io.EOF:
			if br.end >= 0 && off < br.end {
				return sent, ErrTruncated
			}
			if whole {
				// The whole body is sent: return once the fetch has
				// settled, so that the result says whether it was stored
				// and a next request finds it stored. It is about to.
				if err := f.await(ctx, func() bool { return f.state != streaming }); err != nil {
					return sent, err
				}
			}
			return sent, nil
		case ctx.Err() != nil:
			return sent, err
		default:
			return sent, fmt.Errorf("%w: %w", ErrTruncated, err)
		}
	}
}

// flightStatus is the cache status of a request served by f.
func flightStatus(f *flight, started bool) string {
	f.mu.Lock()
	pass := f.pass
	f.mu.Unlock()
	switch {
	case pass:
		return Bypass
	case started:
		return Miss
	}
	return Coalesced
}

// bodyAllowed tells whether a response with this status has a body.
func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

// rangeOf returns the range r asks of the response m, if one applies: a
// single byte range of a GET of a 200, whose If-Range (if any) matches.
func rangeOf(r *Request, m *meta) (rangeSpec, bool) {
	if r.Method != http.MethodGet || m.status != http.StatusOK {
		return rangeSpec{}, false
	}
	v := headerValue(r.Header, "Range")
	if v == "" {
		return rangeSpec{}, false
	}
	if ir := headerValue(r.Header, "If-Range"); ir != "" && !ifRangeMatches(ir, m) {
		return rangeSpec{}, false
	}
	return parseRangeSpec(v)
}

// ifRangeMatches compares an If-Range validator with m's: a strong ETag,
// or exactly its Last-Modified date.
func ifRangeMatches(ir string, m *meta) bool {
	if strings.HasPrefix(ir, `"`) {
		etag := m.header.Get("Etag")
		return etag != "" && etag == ir
	}
	lm := m.header.Get("Last-Modified")
	if lm == "" {
		return false
	}
	a, err1 := http.ParseTime(ir)
	b, err2 := http.ParseTime(lm)
	return err1 == nil && err2 == nil && a.Equal(b)
}

// notModified tells whether a conditional request may be answered 304:
// If-None-Match lists m's ETag (weak comparison) or is "*", or, without
// If-None-Match, m was not modified after If-Modified-Since.
func notModified(h http.Header, m *meta) bool {
	if m.status != http.StatusOK || len(h) == 0 {
		return false
	}
	if inm := h["If-None-Match"]; len(inm) > 0 {
		etag := strings.TrimPrefix(m.header.Get("Etag"), "W/")
		for _, v := range inm {
			for t := range strings.SplitSeq(v, ",") {
				t = strings.TrimSpace(t)
				if t == "*" || (etag != "" && strings.TrimPrefix(t, "W/") == etag) {
					return true
				}
			}
		}
		return false
	}
	ims := headerValue(h, "If-Modified-Since")
	lm := m.header.Get("Last-Modified")
	if ims == "" || lm == "" {
		return false
	}
	since, err1 := http.ParseTime(ims)
	mod, err2 := http.ParseTime(lm)
	return err1 == nil && err2 == nil && !mod.After(since)
}

// writeNotModified answers 304 with the headers already set.
func writeNotModified(w http.ResponseWriter, res Result) Result {
	h := w.Header()
	delete(h, "Content-Type")
	delete(h, "Content-Encoding")
	delete(h, "Content-Language")
	w.WriteHeader(http.StatusNotModified)
	res.Status = http.StatusNotModified
	return res
}

// writeUnsatisfiable answers 416 for a body of size bytes.
func writeUnsatisfiable(w http.ResponseWriter, size int64, res Result) Result {
	h := w.Header()
	delete(h, "Content-Type")
	delete(h, "Content-Encoding")
	delete(h, "Content-Language")
	h["Content-Range"] = []string{"bytes */" + strconv.FormatInt(size, 10)}
	h["Content-Length"] = contentLengthZero
	w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
	res.Status = http.StatusRequestedRangeNotSatisfiable
	return res
}

// writeError answers with an error status and its plain text.
func writeError(w http.ResponseWriter, r *Request, code int, cacheStatus string, err error) Result {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	body := http.StatusText(code) + "\n"
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	res := Result{Status: code, CacheStatus: cacheStatus, Err: err}
	if r.Method != http.MethodHead {
		n, _ := io.WriteString(w, body)
		res.BodyBytes = int64(n)
	}
	return res
}

// headerValue is the first value of h under key, which must be in canonical
// form: a map lookup without canonicalizing, on the path of every hit.
func headerValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
