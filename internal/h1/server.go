package h1

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves HTTP/1.x on listeners with an http.Handler. Its exported
// fields are read when Serve starts and must not change afterwards.
type Server struct {
	// Handler answers every request the server does not refuse itself.
	Handler http.Handler
	// ReadHeaderTimeout bounds the time from a request's first byte (from
	// the accept, for a connection's first request) to the end of its head:
	// it stops clients that send headers slowly (slowloris). 0: none.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that waits this long for
	// its next request. 0: none.
	IdleTimeout time.Duration
	// WriteTimeout bounds the writes of a response, from the end of its
	// request's head. 0: none.
	WriteTimeout time.Duration
	// MaxHeaderBytes bounds a request head (request line and header
	// fields): larger ones get 431. 0: http.DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// Handoff, when set and true for a request, hands its connection (that
	// request and everything after it) to Fallback, a net/http server that
	// serves it from then on: for paths whose handlers need what this
	// server refuses, such as request bodies. Handoff sees the request
	// before the body checks.
	Handoff func(*http.Request) bool
	// Fallback serves the connections Handoff chooses. Serve runs it on an
	// internal listener; Shutdown shuts it down.
	Fallback *http.Server
	// Log receives handler panics and accept errors; none when nil.
	Log *slog.Logger
	// Refused, when set, is told the code of each request the server
	// refuses itself ("line_end", "bad_host", "tls_handshake", ...: the
	// codes of docs/edge.md), for metrics. It must not block.
	Refused func(code string)

	clock    clock
	shutting atomic.Bool
	baseCtx  context.Context
	cancel   context.CancelFunc
	initOnce sync.Once

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	handoff   *handoffListener
	fallback  chan error
}

// Timeout slack: a timeout d fires between d and d + slack(d) (+ a tick of
// the coarse clock), so that a busy connection re-arms its deadline once
// per slack rather than at every request.
const (
	minSlack = 2 * tick
	maxSlack = time.Second
)

func slack(d time.Duration) int64 {
	return int64(min(max(d/8, minSlack), maxSlack))
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.baseCtx, s.cancel = context.WithCancel(context.Background())
		s.listeners = make(map[net.Listener]struct{})
		s.conns = make(map[*conn]struct{})
		if s.Log == nil {
			s.Log = slog.New(slog.DiscardHandler)
		}
		if s.MaxHeaderBytes <= 0 {
			s.MaxHeaderBytes = http.DefaultMaxHeaderBytes
		}
		if s.Fallback != nil {
			s.handoff = newHandoffListener()
			s.fallback = make(chan error, 1)
			go func() { s.fallback <- s.Fallback.Serve(s.handoff) }()
		}
		s.clock.start()
	})
}

// Serve accepts connections on ln and serves each on its own goroutine. It
// returns http.ErrServerClosed after Shutdown or Close, else the accept
// error; ln is closed when it returns.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	defer ln.Close()
	s.mu.Lock()
	if s.shutting.Load() {
		s.mu.Unlock()
		return http.ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.shutting.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: wait, as net/http does.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.Log.Warn("accept", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := newConn(s, nc)
		if !s.track(c) {
			nc.Close()
			c.release()
			return http.ErrServerClosed
		}
		go c.serve()
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Shutdown stops accepting connections, closes idle ones, and waits for
// the requests in flight to finish and their connections to close. When
// ctx ends first, it closes every connection (their requests' contexts
// end) and returns ctx's error. The fallback server is shut down last.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	s.shutting.Store(true)
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()

	err := s.drain(ctx)
	if s.Fallback != nil {
		if ferr := s.Fallback.Shutdown(ctx); err == nil {
			err = ferr
		}
		if ferr := <-s.fallback; err == nil && !errors.Is(ferr, http.ErrServerClosed) {
			err = ferr
		}
		s.fallback <- http.ErrServerClosed // for a second Shutdown
	}
	s.cancel()
	s.clock.release()
	return err
}

// Close closes every listener and connection at once.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Shutdown(ctx)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// drain waits for the connections to end, closing idle ones as they
// become idle, polling as net/http's Shutdown does.
func (s *Server) drain(ctx context.Context) error {
	wait := time.Millisecond
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		if s.closeIdle() {
			return nil
		}
		select {
		case <-ctx.Done():
			s.closeAll()
			return ctx.Err()
		case <-t.C:
			wait = min(2*wait, 100*time.Millisecond)
			t.Reset(wait)
		}
	}
}

// closeIdle closes the connections that wait for a next request (and new
// ones past a grace time) and reports whether none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.nanos()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosed) ||
			now-c.accepted > int64(newGrace) && c.state.CompareAndSwap(stateNew, stateClosed) {
			c.nc.Close()
		}
	}
	return len(s.conns) == 0
}

// closeAll ends every connection: the socket, then its request's context
// (in that order, so that a handler the cancellation wakes cannot get a
// response out before the close).
func (s *Server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.state.Store(stateClosed)
		c.nc.Close()
		c.cancel(errServerClosed)
	}
}

var errServerClosed = errors.New("h1: server closed")
