package cache

import (
	"context"
	"io"
	"sync"
	"time"
)

// flightState is the progress of an origin fetch.
type flightState int

const (
	fetching  flightState = iota // waiting for the origin's headers
	streaming                    // headers known, body arriving
	complete                     // body complete
	failed                       // the origin failed; err says why
	useStale                     // the origin failed; viewers get the stale object
)

// maxWrite bounds one write to a viewer from a fetch in progress, so that
// its progress is published often enough for the pass-through window.
const maxWrite = 256 << 10

// flight is one origin fetch and the viewers waiting for it. Its body
// buffer only grows at the end: bytes below its length are never written
// again, so viewers copy out of slices of it without holding the lock,
// each at its own pace, while the fetch appends.
//
// A flight that will be stored keeps the whole body. One that will not
// (too large, uncacheable) is in pass mode: it keeps a window, dropping
// bytes every waiter has sent, and the fetch waits when the slowest viewer
// is a window behind, so memory stays bounded. Pass flights are no longer
// joinable (they are unpublished), since their first bytes may be gone.
type flight struct {
	key, url string
	ctx      context.Context
	cancel   context.CancelCauseFunc
	// stale is the expired object this fetch refreshes, or nil.
	stale *object
	// fill keeps the fetch going without viewers until the object is stored
	// (set when a HEAD started it).
	fill bool

	mu sync.Mutex
	// changed is closed, and replaced, when anything below changes and
	// watched says that someone waits on it.
	changed   chan struct{}
	watched   bool
	state     flightState
	meta      *meta // set from streaming on, or with failed after headers
	pass      bool
	buf       []byte
	base      int64 // body offset of buf[0]; nonzero only in pass mode
	err       error // why the fetch failed
	errStatus int   // status for viewers when it failed before headers
	// originStatus and originDur are the origin's status (0 if none) and
	// time to response headers.
	originStatus int
	originDur    time.Duration
	waiters      map[*waiter]struct{}
	gone         bool // abandoned by every viewer: unpublished and cancelled
	// progress wakes the fetch, waiting for a slow viewer in pass mode.
	progress     chan struct{}
	fetchWaiting bool
	// testHookWait runs (without f.mu) when the fetch starts waiting for a
	// slow viewer.
	testHookWait func()
}

// waiter is one viewer of a flight.
type waiter struct {
	off int64 // the next body byte it needs
}

func newFlight(parent context.Context, key, url string, stale *object, fill bool) *flight {
	ctx, cancel := context.WithCancelCause(parent)
	return &flight{
		key:      key,
		url:      url,
		ctx:      ctx,
		cancel:   cancel,
		stale:    stale,
		fill:     fill,
		changed:  make(chan struct{}),
		waiters:  make(map[*waiter]struct{}),
		progress: make(chan struct{}, 1),
	}
}

// broadcast wakes everyone waiting for a change. f.mu is held.
func (f *flight) broadcast() {
	if f.watched {
		close(f.changed)
		f.changed = make(chan struct{})
		f.watched = false
	}
}

// wakeFetch wakes the fetch if it waits for viewers. f.mu is held.
func (f *flight) wakeFetch() {
	if f.fetchWaiting {
		select {
		case f.progress <- struct{}{}:
		default:
		}
	}
}

// addWaiter registers a viewer. It returns nil if f can no longer be
// joined: abandoned, in pass mode, over (a complete object is in the store
// by then, and the store knows whether it is still fresh), or holding a
// response that expired while it arrived.
func (f *flight) addWaiter(now time.Time) *waiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gone || f.pass || f.state > streaming || (f.meta != nil && !now.Before(f.meta.expires)) {
		return nil
	}
	w := &waiter{}
	f.waiters[w] = struct{}{}
	return w
}

// removeWaiter unregisters a viewer and reports whether the fetch is now
// abandoned: nobody waits, it is not finished, and it would not be stored
// anyway (fill flights go on into the cache).
func (f *flight) removeWaiter(w *waiter) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.waiters, w)
	f.wakeFetch()
	return f.abandonedLocked()
}

// abandoned reports whether nobody waits for the fetch any more (and
// marks it so), as removeWaiter does.
func (f *flight) abandoned() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.abandonedLocked()
}

func (f *flight) abandonedLocked() bool {
	if f.gone {
		return true
	}
	if len(f.waiters) > 0 || f.state > streaming || (f.fill && !f.pass) {
		return false
	}
	if f.meta != nil && f.meta.length >= 0 && f.base+int64(len(f.buf)) == f.meta.length {
		// Every byte is in and the fetch is about to complete: viewers
		// of a known length leave as soon as they have it.
		return false
	}
	f.gone = true
	return true
}

// await waits until cond, evaluated with f.mu held, is true.
func (f *flight) await(ctx context.Context, cond func() bool) error {
	f.mu.Lock()
	for !cond() {
		ch := f.changed
		f.watched = true
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		f.mu.Lock()
	}
	f.mu.Unlock()
	return nil
}

// read returns body bytes from off (to end, if end >= 0) as soon as some
// are there; io.EOF when the body (or the range) is done; the fetch's error
// when it failed first. It records off as w's progress. flush is called
// before it waits.
func (f *flight) read(ctx context.Context, w *waiter, off, end int64, flush func()) ([]byte, error) {
	f.mu.Lock()
	if w.off != off {
		w.off = off
		f.wakeFetch()
	}
	for {
		if end >= 0 && off >= end {
			f.mu.Unlock()
			return nil, io.EOF
		}
		avail := f.base + int64(len(f.buf))
		if off < f.base {
			// Pass mode dropped bytes this viewer needs: cannot happen, as
			// the window keeps every byte from the slowest viewer on.
			f.mu.Unlock()
			return nil, errLostBytes
		}
		if off < avail {
			stop := min(avail, off+maxWrite)
			if end >= 0 {
				stop = min(stop, end)
			}
			b := f.buf[off-f.base : stop-f.base]
			f.mu.Unlock()
			return b, nil
		}
		switch f.state {
		case complete:
			f.mu.Unlock()
			return nil, io.EOF
		case failed:
			err := f.err
			f.mu.Unlock()
			return nil, err
		}
		ch := f.changed
		f.watched = true
		f.mu.Unlock()
		if flush != nil {
			flush()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
		f.mu.Lock()
	}
}

// setHeaders publishes the origin's response: viewers may start. buf is
// the body buffer (empty, with the capacity reserved for it) unless pass.
func (f *flight) setHeaders(m *meta, pass bool, buf []byte, d time.Duration) {
	f.mu.Lock()
	f.meta, f.pass, f.buf = m, pass, buf
	f.originStatus, f.originDur = m.status, d
	f.state = streaming
	f.broadcast()
	f.mu.Unlock()
}

// toPass switches a stored-to-be flight to pass mode (its body proved too
// large) and reports whether it is now abandoned.
func (f *flight) toPass() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pass = true
	f.broadcast()
	return f.abandonedLocked()
}

// isPass reports whether f is in pass mode.
func (f *flight) isPass() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pass
}

// size returns the body bytes received and the buffer's capacity (in
// stored mode, where base is 0).
func (f *flight) size() (n, capacity int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.base + int64(len(f.buf)), int64(cap(f.buf))
}

// grow moves the body to a buffer of capacity n. Viewers keep reading the
// old one until they come back for more.
func (f *flight) grow(n int64) {
	f.mu.Lock()
	nb := make([]byte, len(f.buf), n)
	copy(nb, f.buf)
	f.buf = nb
	f.mu.Unlock()
}

// space returns room for up to n more body bytes at the end of the buffer.
// In pass mode it first waits until the slowest viewer is less than window
// bytes behind, then drops the bytes every viewer has sent.
func (f *flight) space(n, window int) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pass {
		for {
			consumed := len(f.buf)
			for w := range f.waiters {
				consumed = min(consumed, int(max(w.off-f.base, 0)))
			}
			live := len(f.buf) - consumed
			if live < window {
				if len(f.buf) == cap(f.buf) {
					// A new array, not a copy within the old one: viewers
					// may be writing from slices of it.
					nb := make([]byte, live, window+n)
					copy(nb, f.buf[consumed:])
					f.buf = nb
					f.base += int64(consumed)
				}
				break
			}
			f.fetchWaiting = true
			hook := f.testHookWait
			f.mu.Unlock()
			if hook != nil {
				hook()
			}
			select {
			case <-f.progress:
			case <-f.ctx.Done():
				f.mu.Lock()
				f.fetchWaiting = false
				return nil, context.Cause(f.ctx)
			}
			f.mu.Lock()
			f.fetchWaiting = false
		}
	}
	return f.buf[len(f.buf):min(cap(f.buf), len(f.buf)+n)], nil
}

// appended publishes n bytes written into the slice space returned.
func (f *flight) appended(n int) {
	f.mu.Lock()
	f.buf = f.buf[:len(f.buf)+n]
	f.broadcast()
	f.mu.Unlock()
}

// body returns the complete body in stored mode.
func (f *flight) body() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf
}

// finish ends the fetch: complete when err is nil, else failed with err.
func (f *flight) finish(err error) {
	f.mu.Lock()
	if err == nil {
		f.state = complete
	} else {
		f.state, f.err = failed, err
	}
	f.broadcast()
	f.mu.Unlock()
}

// fail ends a fetch that failed mid-body: viewers that got nothing yet get
// status, the others a cut response.
func (f *flight) fail(err error, status int) {
	f.mu.Lock()
	f.state, f.err, f.errStatus = failed, err, status
	f.broadcast()
	f.mu.Unlock()
}

// failBeforeHeaders ends a fetch that got no usable response: viewers get
// the stale object when one may be served, else status.
func (f *flight) failBeforeHeaders(err error, status, originStatus int, stale bool, d time.Duration) {
	f.mu.Lock()
	f.err, f.errStatus = err, status
	f.originStatus, f.originDur = originStatus, d
	f.state = failed
	if stale {
		f.state = useStale
	}
	f.broadcast()
	f.mu.Unlock()
}
