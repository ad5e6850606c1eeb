package h1

import (
	"bytes"
	"net"
	"sync"
	"time"
)

// handoffListener gives the fallback server the connections handed to it.
type handoffListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newHandoffListener() *handoffListener {
	return &handoffListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return handoffAddr{} }

// give hands c over; false if the listener is closed.
func (l *handoffListener) give(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

type handoffAddr struct{}

func (handoffAddr) Network() string { return "h1-handoff" }
func (handoffAddr) String() string  { return "h1-handoff" }

// replayConn is a connection whose first bytes were already read: Read
// returns them first.
type replayConn struct {
	net.Conn
	buf []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.buf) > 0 {
		n := copy(p, c.buf)
		c.buf = c.buf[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// handOff gives the connection, with the bytes read and not yet served,
// to the fallback server.
func (c *conn) handOff() {
	if c.flush() != nil {
		return
	}
	c.nc.SetDeadline(time.Time{})
	rc := &replayConn{Conn: c.nc, buf: bytes.Clone(c.rbuf[c.r0:c.r1])}
	c.s.untrack(c)
	if c.s.handoff.give(rc) {
		c.handedOff = true
	}
}
