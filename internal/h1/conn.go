package h1

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Connection states, for Shutdown: idle connections (waiting for the first
// byte of a next request) may be closed, active ones are waited for, and
// new ones (no request yet) are given a grace time, as net/http does.
const (
	stateNew int32 = iota
	stateIdle
	stateActive
	stateClosed
)

// newGrace is how long Shutdown waits for a new connection's first request.
const newGrace = 5 * time.Second

const (
	readBufSize  = 4 << 10
	writeBufSize = 4 << 10
	// bigWrite: a body write this large goes out with the buffered bytes
	// in one writev instead of being copied into the buffer.
	bigWrite = 2 << 10
	// lingerTime and lingerBytes bound the reading of what a client still
	// sends after the server decided to close, so that the client gets the
	// response rather than a reset.
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 256 << 10
)

var (
	readBufs  = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}
	writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, writeBufSize); return &b }}
	crlfcrlf  = []byte("\r\n\r\n")
)

// conn is one client connection. Everything a request needs is here and
// reused from request to request: the request, its URL and header map, the
// response writer and its header map. A handler must not keep any of them
// after ServeHTTP returns (net/http's rule as well).
type conn struct {
	s      *Server
	nc     net.Conn
	state  atomic.Int32
	remote string
	// accepted is when the connection came (coarse unix nanoseconds).
	accepted int64

	rp     *[]byte
	rbuf   []byte
	r0, r1 int // unread bytes: rbuf[r0:r1]
	scan   int // rbuf[r0:scan] holds no end of head
	first  int64
	served int
	wp     *[]byte
	wbuf   []byte
	iov    [2][]byte   // a writev's buffers
	bufs   net.Buffers // iov, consumed by the write (in the conn: no allocation)
	werr   error

	// rdl and wdl are the deadlines set on nc, in unix nanoseconds (0:
	// none, -1: one in the past).
	rdl, wdl int64

	ctx    context.Context
	cancel context.CancelCauseFunc
	rctx   reqContext
	tmpl   http.Request
	req    http.Request
	parser parser
	w      response

	watch     atomic.Int32
	watchDone chan struct{}
	stash     [1]byte
	stashed   bool // stash holds a byte the background read got
	peerGone  bool
	handedOff bool
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, remote: nc.RemoteAddr().String()}
	c.ctx, c.cancel = context.WithCancelCause(s.baseCtx)
	c.rctx = reqContext{Context: c.ctx, c: c}
	c.tmpl = *(&http.Request{RemoteAddr: c.remote}).WithContext(&c.rctx)
	c.parser.hdr = make(http.Header, 16)
	c.w.header = make(http.Header, 16)
	c.w.c = c
	c.accepted = s.clock.nanos()
	c.first = c.accepted
	return c
}

// release returns the buffers to their pools.
func (c *conn) release() {
	if c.rp != nil {
		readBufs.Put(c.rp)
		c.rp, c.rbuf = nil, nil
	}
	if c.wp != nil {
		if cap(c.wbuf) <= 4*writeBufSize {
			*c.wp = c.wbuf[:0] // grown for a big head or pipelined responses
		}
		writeBufs.Put(c.wp)
		c.wp, c.wbuf = nil, nil
	}
}

func (c *conn) serve() {
	defer c.end()
	if tc, ok := c.nc.(*tls.Conn); ok && !c.startTLS(tc) {
		return
	}
	c.rp = readBufs.Get().(*[]byte)
	c.rbuf = *c.rp
	c.wp = writeBufs.Get().(*[]byte)
	c.wbuf = (*c.wp)[:0]
	for {
		end, err := c.readHead()
		if err != nil {
			var perr *protoError
			if errors.As(err, &perr) {
				c.refuse(perr)
			} else if err == errTLS {
				// Unanswered, but the responses to the requests
				// pipelined before it go first, as net/http sends them.
				_ = c.flush()
				if c.s.Refused != nil {
					c.s.Refused(codeTLS)
				}
			}
			return
		}
		if !c.serveOne(end) {
			return
		}
	}
}

// startTLS completes the handshake of a TLS connection within
// ReadHeaderTimeout (a slow handshake is a slowloris too) and reports
// whether this server serves it: a client that chose HTTP/2 (ALPN h2) is
// handed, before a byte of HTTP, to Fallback, whose net/http serves
// HTTP/2 on a *tls.Conn; HTTP/1.1 stays here, its requests carrying the
// connection's TLS state.
func (c *conn) startTLS(tc *tls.Conn) bool {
	ctx := context.Context(c.ctx)
	if d := c.s.ReadHeaderTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		if c.s.Refused != nil {
			c.s.Refused(codeTLSHandshake)
		}
		return false
	}
	st := tc.ConnectionState()
	if st.NegotiatedProtocol == "h2" {
		if c.s.handoff == nil {
			return false // no HTTP/2 server: close (the client offered h2 we did not)
		}
		c.s.untrack(c)
		if c.s.handoff.give(tc) {
			c.handedOff = true
		}
		return false
	}
	c.tmpl.TLS = &st
	return true
}

// end closes the connection (unless handed off) and forgets it.
func (c *conn) end() {
	c.s.untrack(c)
	c.cancel(errServerClosed)
	if !c.handedOff {
		c.state.Store(stateClosed)
		c.nc.Close()
	}
	c.release()
}

// readHead returns the end of the next request head, rbuf[r0:end], once it
// has all of it. It flushes the buffered responses before it waits.
func (c *conn) readHead() (int, error) {
	for {
		if c.r1 > c.r0 {
			if c.rbuf[c.r0] == tlsHandshake {
				return 0, errTLS
			}
			from := max(c.scan, c.r0)
			if i := bytes.Index(c.rbuf[from:c.r1], crlfcrlf); i >= 0 {
				if end := from + i + 4; end-c.r0 <= c.s.MaxHeaderBytes {
					return end, nil
				}
				return 0, errTooLarge
			}
			if err := checkPartial(c.rbuf[c.r0:c.r1], from-c.r0); err != nil {
				return 0, err
			}
			c.scan = max(c.r0, c.r1-3)
			if c.r1-c.r0 >= c.s.MaxHeaderBytes {
				return 0, errTooLarge
			}
		}
		if err := c.flush(); err != nil {
			return 0, err
		}
		if c.r0 == c.r1 {
			c.r0, c.r1, c.scan = 0, 0, 0
			if c.served > 0 {
				// Between requests: idle.
				c.state.Store(stateIdle)
				if c.s.shutting.Load() {
					return 0, errServerClosed
				}
				if err := c.armRead(c.s.clock.nanos(), c.s.IdleTimeout); err != nil {
					return 0, err
				}
			} else if err := c.armRead(c.first, c.s.ReadHeaderTimeout); err != nil {
				return 0, err
			}
		} else {
			if c.r1 == len(c.rbuf) {
				c.makeRoom()
			}
			if err := c.armRead(c.first, c.s.ReadHeaderTimeout); err != nil {
				return 0, err
			}
		}
		var n int
		var err error
		if c.stashed {
			c.rbuf[c.r1], n, c.stashed = c.stash[0], 1, false
		} else {
			n, err = c.nc.Read(c.rbuf[c.r1:])
		}
		if n > 0 {
			if c.r0 == c.r1 {
				// The first bytes of a request.
				if c.served > 0 {
					c.first = c.s.clock.nanos()
				}
				if !c.state.CompareAndSwap(stateIdle, stateActive) && !c.state.CompareAndSwap(stateNew, stateActive) &&
					c.state.Load() != stateActive {
					return 0, errServerClosed
				}
			}
			c.r1 += n
			continue
		}
		if err == nil {
			err = io.ErrNoProgress
		}
		return 0, err
	}
}

// makeRoom moves the unread bytes to the front of the buffer, or grows it
// (up to MaxHeaderBytes and a read's worth) when they fill it.
func (c *conn) makeRoom() {
	if c.r0 > 0 {
		n := copy(c.rbuf, c.rbuf[c.r0:c.r1])
		c.scan = max(c.scan-c.r0, 0)
		c.r0, c.r1 = 0, n
		return
	}
	nb := make([]byte, min(2*len(c.rbuf), c.s.MaxHeaderBytes+readBufSize))
	copy(nb, c.rbuf[:c.r1])
	c.rbuf = nb
}

// armRead makes sure a read deadline d after t0 (coarse unix nanoseconds)
// is set, touching the socket only when the one set is outside
// [t0+d, t0+d+slack]: a busy connection re-arms once per slack.
func (c *conn) armRead(t0 int64, d time.Duration) error {
	if d <= 0 {
		if c.rdl == 0 {
			return nil
		}
		c.rdl = 0
		return c.nc.SetReadDeadline(time.Time{})
	}
	lo := t0 + int64(d) + int64(tick)
	sl := slack(d)
	if c.rdl >= lo && c.rdl <= lo+sl {
		return nil
	}
	c.rdl = lo + sl
	return c.nc.SetReadDeadline(time.Unix(0, c.rdl))
}

// armWrite does the same for the write deadline, from now.
func (c *conn) armWrite() error {
	d := c.s.WriteTimeout
	if d <= 0 {
		return nil
	}
	lo := c.s.clock.nanos() + int64(d) + int64(tick)
	sl := slack(d)
	if c.wdl >= lo && c.wdl <= lo+sl {
		return nil
	}
	c.wdl = lo + sl
	return c.nc.SetWriteDeadline(time.Unix(0, c.wdl))
}

// serveOne serves the request whose head is rbuf[r0:end] and reports
// whether the connection goes on.
func (c *conn) serveOne(end int) bool {
	c.req = c.tmpl
	hd, perr := c.parser.parse(c.rbuf[c.r0:end], &c.req)
	if perr != nil {
		c.refuse(perr)
		return false
	}
	if c.s.Handoff != nil && c.s.Handoff(&c.req) {
		c.handOff()
		return false
	}
	if perr := checkHead(&hd); perr != nil {
		c.refuse(perr)
		return false
	}
	c.r0 = end
	c.served++
	if err := c.armWrite(); err != nil {
		return false
	}

	// The previous response, to a pipelined request, goes now: this
	// handler may take long (a cache miss).
	if c.flush() != nil {
		return false
	}
	w := &c.w
	w.reset(&hd, c.s.shutting.Load())
	c.watch.Store(watchArmed)
	ok := c.callHandler(w, &c.req)
	if !c.watch.CompareAndSwap(watchArmed, watchOff) {
		for c.watch.Load() == watchStarting {
			runtime.Gosched()
		}
		c.stopWatch()
	}
	if !ok {
		// Panicked (http.ErrAbortHandler included): what the handler
		// committed is sent, the rest dropped, and the connection closed
		// so that a cut body cannot pass for a whole one.
		w.abort()
		c.flush()
		return false
	}
	w.finish()
	if c.peerGone {
		return false
	}
	if w.closeAfter {
		c.flush()
		c.linger()
		return false
	}
	if len(c.w.header) > 64 {
		c.w.header = make(http.Header, 16)
	}
	if len(c.parser.hdr) > 64 {
		c.parser.hdr = make(http.Header, 16)
	}
	return c.werr == nil
}

func (c *conn) callHandler(w *response, r *http.Request) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				c.s.Log.Error("h1: panic serving request", "remote", c.remote, "panic", fmt.Sprint(p))
			}
			ok = false
		}
	}()
	c.s.Handler.ServeHTTP(w, r)
	return true
}
