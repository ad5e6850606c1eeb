package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// userAgent identifies the edge to origins.
const userAgent = "smd-edge"

// run fetches f's object from the origin and feeds f's viewers, storing the
// object if it may be stored. It runs on its own goroutine, so the fetch
// outlives the viewer that started it.
func (c *Cache) run(f *flight) {
	defer c.wg.Done()
	defer f.cancel(errFetchDone)
	c.stats.originFetches.Add(1)
	if c.cfg.FetchTimeout > 0 {
		deadline := time.AfterFunc(c.cfg.FetchTimeout, func() { f.cancel(errFetchTimeout) })
		defer deadline.Stop()
	}

	start := time.Now()
	resp, err := c.roundTrip(f)
	d := time.Since(start)
	if err != nil {
		c.countError(f)
		c.unpublish(f)
		f.failBeforeHeaders(fmt.Errorf("origin: %w", err), originErrorStatus(err), 0, c.staleUsable(f), d)
		return
	}
	defer resp.Body.Close()

	m := newMeta(f.key, f.url, resp, c.now(), &c.cfg)
	if resp.StatusCode >= 500 {
		c.stats.originErrors.Add(1)
		if c.staleUsable(f) {
			c.unpublish(f)
			f.failBeforeHeaders(fmt.Errorf("origin status %d", resp.StatusCode), 0, resp.StatusCode, true, d)
			return
		}
	} else if f.stale != nil && !m.cacheable {
		// The origin's answer replaces the expired copy, which must not
		// be served again on a later error.
		c.store.remove(f.stale)
	}

	// Stored mode reserves the body's memory up front when its length is
	// known, else grows the reservation with the buffer.
	pass, reserved := !m.cacheable || m.length > c.cfg.MaxObjectBytes, int64(0)
	var buf []byte
	if !pass {
		size := m.length
		if size < 0 {
			size = min(int64(c.readChunk), c.cfg.MaxObjectBytes+1)
		}
		if c.store.reserve(m.cost + size) {
			reserved = m.cost + size
			buf = make([]byte, 0, size)
		} else {
			pass = true
		}
	}
	if pass {
		// Not joinable from now on: its first bytes will be dropped.
		c.unpublish(f)
	}
	f.setHeaders(m, pass, buf, d)
	if pass && f.abandoned() {
		// Started by a HEAD whose viewer is gone, and not to be stored:
		// nobody wants the body.
		f.finish(errAbandoned)
		return
	}

	err = c.readBody(f, resp.Body, m.length, &reserved)
	if err != nil {
		// Nothing of it is stored, and the next request fetches anew.
		c.countError(f)
		c.store.release(reserved)
		c.unpublish(f)
		f.fail(err, originErrorStatus(err))
		return
	}
	if f.isPass() {
		c.store.release(reserved)
		f.finish(nil)
		return
	}
	body := f.body()
	if len(body) != cap(body) {
		body = append(make([]byte, 0, len(body)), body...)
	}
	if m.playlist && c.cfg.OnPlaylist != nil {
		c.cfg.OnPlaylist(f.url, body)
	}
	// Store, then mark complete, then unpublish: a request that does not
	// find the flight any more finds the object (see join).
	c.store.commit(newObject(f.key, m, body), reserved)
	f.finish(nil)
	c.unpublish(f)
}

// roundTrip sends the origin request, bounded by ResponseHeaderTimeout.
func (c *Cache) roundTrip(f *flight) (*http.Response, error) {
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return nil, err
	}
	// No viewer header is forwarded: the response is the same for every
	// viewer, which is what makes sharing it right. Identity encoding
	// keeps the Transport from decompressing behind our back.
	req.Header = http.Header{
		"User-Agent":      {userAgent},
		"Accept-Encoding": {"identity"},
	}
	t := time.AfterFunc(c.cfg.ResponseHeaderTimeout, func() { f.cancel(errHeaderTimeout) })
	resp, err := c.transport.RoundTrip(req)
	if !t.Stop() && err == nil {
		// The headers came as the time ran out: the fetch is cancelled.
		resp.Body.Close()
		return nil, errHeaderTimeout
	}
	if err != nil {
		if cause := context.Cause(f.ctx); cause != nil {
			err = fmt.Errorf("%w (%w)", cause, err)
		}
		return nil, err
	}
	return resp, nil
}

// readBody reads the origin's body into f. In stored mode it grows the
// buffer, and the reservation, for a body of unknown length, and turns f
// to pass mode once the body proves larger than MaxObjectBytes.
func (c *Cache) readBody(f *flight, body io.Reader, length int64, reserved *int64) error {
	idle := time.AfterFunc(c.cfg.ReadTimeout, func() { f.cancel(errReadTimeout) })
	idle.Stop()
	defer idle.Stop()
	var pc *pacer
	if c.cfg.MinRate > 0 {
		pc = newPacer(c.cfg.MinRate, c.cfg.MinRateWindow, length, func() { f.cancel(errTooSlow) })
		defer pc.stop()
	}
	for {
		if !f.isPass() {
			n, capacity := f.size()
			if length >= 0 && n == length {
				return nil
			}
			if n == capacity {
				// Unknown length. MaxObjectBytes+1 bytes prove it too large.
				next := min(2*capacity, c.cfg.MaxObjectBytes+1)
				if capacity < next && c.store.reserve(next-capacity) {
					*reserved += next - capacity
					f.grow(next)
				} else {
					c.store.release(*reserved)
					*reserved = 0
					abandoned := f.toPass()
					c.unpublish(f)
					if abandoned {
						return errAbandoned
					}
				}
			}
		}
		p, err := f.space(c.readChunk, c.passWindow)
		if err != nil {
			return err
		}
		idle.Reset(c.cfg.ReadTimeout)
		if pc != nil {
			pc.reading()
		}
		n, err := body.Read(p)
		idle.Stop()
		if pc != nil {
			pc.read(n)
		}
		if n > 0 {
			f.appended(n)
			c.stats.originBytes.Add(int64(n))
		}
		switch {
		case err == io.EOF:
			if got, _ := f.size(); length >= 0 && got != length {
				return fmt.Errorf("origin: body of %d bytes, want %d: %w", got, length, io.ErrUnexpectedEOF)
			}
			return nil
		case err != nil:
			if cause := context.Cause(f.ctx); cause != nil {
				err = fmt.Errorf("%w (%w)", cause, err)
			}
			return fmt.Errorf("origin: %w", err)
		}
	}
}

// countError counts a failed origin fetch, unless it was cancelled because
// every viewer left or the cache closed.
func (c *Cache) countError(f *flight) {
	if cause := context.Cause(f.ctx); cause == errAbandoned || c.ctx.Err() != nil {
		return
	}
	c.stats.originErrors.Add(1)
}

// staleUsable tells whether f may fall back to its stale object.
func (c *Cache) staleUsable(f *flight) bool {
	return f.stale != nil && f.stale.usableStale(c.now(), c.cfg.StaleIfError)
}

// originErrorStatus is the viewer's status for an origin that failed
// before the viewer got anything: 504 for a timeout (response headers,
// connection, the whole fetch, a stalled or too slow body), 502 for
// anything else (refused, reset, DNS).
func originErrorStatus(err error) int {
	for _, timeout := range []error{errHeaderTimeout, errFetchTimeout, errReadTimeout, errTooSlow} {
		if errors.Is(err, timeout) {
			return http.StatusGatewayTimeout
		}
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// pacer enforces MinRate on a body: over each window of time spent in the
// origin's Read (time spent waiting for slow viewers does not count), the
// body must grow by rate × window bytes, or by what remains of it.
type pacer struct {
	need   int64 // bytes per window
	window time.Duration
	length int64 // the body's, -1 unknown
	slow   func()
	t      *time.Timer

	mu      sync.Mutex
	base    int64         // bytes at the start of the window
	got     int64         // bytes so far
	waited  time.Duration // in reads since the start of the window
	inRead  bool
	readAt  time.Time
	stopped bool
}

func newPacer(rate int64, window time.Duration, length int64, slow func()) *pacer {
	p := &pacer{need: max(int64(float64(rate)*window.Seconds()), 1), window: window, length: length, slow: slow}
	p.t = time.AfterFunc(window, p.fire)
	p.t.Stop()
	return p
}

// short reports whether the window's bytes fall short. Under mu.
func (p *pacer) short() bool {
	need := p.need
	if p.length >= 0 {
		need = min(need, p.length-p.base)
	}
	return p.got-p.base < need
}

// reading marks the start of a Read.
func (p *pacer) reading() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inRead, p.readAt = true, time.Now()
	p.t.Reset(max(p.window-p.waited, 0))
}

// read marks the end of a Read of n bytes.
func (p *pacer) read(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.t.Stop()
	p.inRead = false
	p.got += int64(n)
	p.waited += time.Since(p.readAt)
	if p.waited >= p.window {
		p.judge()
	}
}

// fire is the window ending within a Read.
func (p *pacer) fire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.inRead || p.stopped {
		return
	}
	p.judge()
	if !p.stopped {
		p.readAt = time.Now()
		p.t.Reset(p.window)
	}
}

// judge ends a window: too few bytes end the fetch. Under mu.
func (p *pacer) judge() {
	if p.short() {
		p.stopped = true
		p.slow()
		return
	}
	p.base, p.waited = p.got, 0
}

func (p *pacer) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.t.Stop()
}
