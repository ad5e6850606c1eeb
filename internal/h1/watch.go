package h1

import (
	"context"
	"errors"
	"os"
	"time"
)

// Peer watch states: a request's context ends when its client goes away,
// which only a read can tell. net/http reads in the background during
// every request; this server starts that read only when a handler waits
// on the context (calls Done: a cache miss waiting for the origin), never
// for a cache hit.
const (
	watchOff      int32 = iota // no handler running
	watchArmed                 // a handler runs; nobody waits on its context
	watchStarting              // a background read is being started
	watchOn                    // a background read runs
)

var (
	// errPeerGone ends a request's context when its client closed the
	// connection.
	errPeerGone = errors.New("h1: client went away")
	// aLongTimeAgo stops a background read at once.
	aLongTimeAgo = time.Unix(1, 0)
)

// reqContext is a request's context: the connection's, with the peer
// watch started the first time a handler waits on it.
type reqContext struct {
	context.Context
	c *conn
}

func (x *reqContext) Done() <-chan struct{} {
	x.c.startWatch()
	return x.Context.Done()
}

// startWatch starts the background read that ends the context when the
// client goes away, once per request.
func (c *conn) startWatch() {
	if !c.watch.CompareAndSwap(watchArmed, watchStarting) {
		return
	}
	c.watchDone = make(chan struct{})
	c.rdl = 0
	c.nc.SetReadDeadline(time.Time{})
	go c.backgroundRead(c.watchDone)
	c.watch.Store(watchOn)
}

func (c *conn) backgroundRead(done chan struct{}) {
	defer close(done)
	n, err := c.nc.Read(c.stash[:])
	if n == 1 {
		// The next request (pipelined): the client is there.
		c.stashed = true
		return
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return // stopWatch
	}
	c.peerGone = true
	c.cancel(errPeerGone)
}

// stopWatch ends the background read, after the handler returned.
func (c *conn) stopWatch() {
	c.nc.SetReadDeadline(aLongTimeAgo)
	<-c.watchDone
	c.rdl = -1
	c.watch.Store(watchOff)
}
