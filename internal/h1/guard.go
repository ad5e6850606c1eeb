package h1

import (
	"bytes"
	"context"
	"crypto/subtle"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// Guard puts the lean server's judgement of request heads in front of a
// net/http server, so that a listener served by net/http refuses what the
// lean server refuses, at the same moment and with the same answer: a TLS
// handshake is closed at once; a head that can never become valid (a bare
// LF or CR, a byte no request line has) is answered before its end
// arrives instead of held until the read-header timeout; and a complete
// head is parsed by the lean parser and its policy (bare LF, obs-fold,
// repeated Content-Length, bodies, Expect, transfer codings, Host,
// size...), which net/http's parser is laxer about.
//
// It works on the bytes: each connection's head is held back from
// net/http until it is complete and judged. An accepted head goes through
// unchanged. A refused one is replaced by a request net/http parses
// (GET with Connection: close, carrying a per-connection secret), for
// which Refusal, called by the handler, returns the lean server's status;
// net/http's own ordering of pipelined responses is kept, and it closes
// the connection after that answer. A head for a path Handoff chooses (one
// that may carry a body: the API) ends the judging, as the lean server
// hands such a connection to net/http for good.
//
// Set the server's ConnContext to the Guard's, and its Handler to one
// that calls Refusal first.
type Guard struct {
	// MaxHeaderBytes bounds a head (431 above), as Server.MaxHeaderBytes;
	// 0: http.DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// Handoff is Server.Handoff: the paths whose requests net/http judges
	// alone from then on. Nil: none.
	Handoff func(*http.Request) bool
	// Refused, when set, is told the code of each refusal (Server.Refused).
	Refused func(code string)
}

// Listener wraps ln: its connections are judged.
func (g *Guard) Listener(ln net.Listener) net.Listener { return &guardListener{Listener: ln, g: g} }

// ConnContext is for http.Server.ConnContext: it lets Refusal find a
// request's connection.
func (g *Guard) ConnContext(ctx context.Context, c net.Conn) context.Context {
	if gc, ok := c.(*guardConn); ok {
		return context.WithValue(ctx, guardKey{}, gc)
	}
	return ctx
}

type guardKey struct{}

type guardListener struct {
	net.Listener
	g *Guard
}

func (l *guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &guardConn{Conn: c, g: l.g, secret: strconv.FormatUint(rand.Uint64(), 36)}, nil
}

// refusalHeader carries the secret in the stand-in request.
const refusalHeader = "Smd-Guard-Refusal"

// guardConn holds a connection's bytes back until they are judged. net/http
// reads a connection from one goroutine at a time (its background read
// included), so only refusal, read by the handler, needs the lock.
type guardConn struct {
	net.Conn
	g      *Guard
	secret string

	in     []byte // read; in[:given] is out's, the rest not judged yet
	given  int    // bytes of in that out holds (a judged head)
	out    []byte // judged, for net/http
	scan   int    // where the search for the head's end resumes in in
	opaque bool   // judging ended (handoff): bytes go through as read
	eof    bool   // after out: end of stream (refused, or TLS)

	p   parser
	req http.Request

	mu      sync.Mutex
	refusal *protoError // what the stand-in request stands for
}

func (c *guardConn) Read(b []byte) (int, error) {
	for {
		if len(c.out) > 0 {
			n := copy(b, c.out)
			c.out = c.out[n:]
			return n, nil
		}
		if c.given > 0 {
			// The head is out: what follows it is the next one.
			c.in = append(c.in[:0], c.in[c.given:]...)
			c.given = 0
		}
		if c.eof {
			return 0, io.EOF
		}
		if c.opaque {
			if len(c.in) > 0 {
				n := copy(b, c.in)
				c.in = c.in[n:]
				return n, nil
			}
			return c.Conn.Read(b)
		}
		if c.judge() {
			continue
		}
		// A read error goes to net/http as it comes, and is not kept: a
		// deadline net/http set in the past to stop its background read
		// is not the end of the connection.
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
}

// fill reads more bytes into in.
func (c *guardConn) fill() error {
	if cap(c.in)-len(c.in) < 512 {
		nb := make([]byte, len(c.in), min(max(2*cap(c.in), readBufSize), c.limit()+readBufSize))
		copy(nb, c.in)
		c.in = nb
	}
	n, err := c.Conn.Read(c.in[len(c.in):cap(c.in)])
	c.in = c.in[:len(c.in)+n]
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

func (c *guardConn) limit() int {
	if c.g.MaxHeaderBytes > 0 {
		return c.g.MaxHeaderBytes
	}
	return http.DefaultMaxHeaderBytes
}

// judge looks at the unjudged bytes and reports whether it made output
// (or ended the stream): a complete head accepted or refused, a TLS
// handshake, a partial head that can never be valid.
func (c *guardConn) judge() bool {
	if len(c.in) == 0 {
		return false
	}
	if c.in[0] == tlsHandshake {
		c.closeTLS()
		return true
	}
	limit := c.limit()
	from := min(c.scan, len(c.in))
	i := bytes.Index(c.in[from:], crlfcrlf)
	if i < 0 {
		if err := checkPartial(c.in, from); err != nil {
			if err == errTLS {
				c.closeTLS()
				return true
			}
			c.refuse(err.(*protoError))
			return true
		}
		if len(c.in) >= limit {
			c.refuse(errTooLarge)
			return true
		}
		c.scan = max(len(c.in)-3, 0)
		return false
	}
	end := from + i + 4
	if end > limit {
		c.refuse(errTooLarge)
		return true
	}
	head := c.in[:end]
	c.req = http.Request{}
	hd, perr := c.p.parse(head, &c.req)
	if perr == nil && c.g.Handoff != nil && c.g.Handoff(&c.req) {
		c.opaque = true
	} else if perr == nil {
		perr = checkHead(&hd)
	}
	if perr != nil {
		c.refuse(perr)
		return true
	}
	// The head goes out as read (its header names canonicalized in place,
	// as net/http reads them anyway), from in itself; the bytes after it
	// stay to be judged as the next head once it is out.
	c.out, c.given, c.scan = head, end, 0
	return true
}

// closeTLS ends the stream at a TLS handshake.
func (c *guardConn) closeTLS() {
	c.in, c.eof = nil, true
	if c.g.Refused != nil {
		c.g.Refused(codeTLS)
	}
}

// refuse replaces the rest of the stream by the stand-in request for
// perr.
func (c *guardConn) refuse(perr *protoError) {
	c.mu.Lock()
	c.refusal = perr
	c.mu.Unlock()
	if c.g.Refused != nil {
		c.g.Refused(perr.code)
	}
	c.out = []byte("GET / HTTP/1.1\r\nHost: refused.invalid\r\nConnection: close\r\n" + refusalHeader + ": " + c.secret + "\r\n\r\n")
	c.in, c.eof = nil, true
}

// guardRefusal is the refusal r stands for when it is the stand-in for a
// head its connection's Guard refused (nil: it is not).
func guardRefusal(r *http.Request) *protoError {
	v := r.Header[refusalHeader]
	if len(v) == 0 {
		return nil
	}
	c, ok := r.Context().Value(guardKey{}).(*guardConn)
	if !ok || len(v) != 1 || subtle.ConstantTimeCompare([]byte(v[0]), []byte(c.secret)) != 1 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refusal
}
