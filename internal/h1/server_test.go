package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testHandler serves the paths the protocol tests use, and counts the
// requests it saw.
type testHandler struct {
	requests atomic.Int64
	paths    chan string // every path served, when not nil
	release  chan struct{}
	ctxDone  chan error
	writeErr chan error
}

var modTime = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func (h *testHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	if h.paths != nil {
		h.paths <- r.URL.Path
	}
	switch r.URL.Path {
	case "/1k":
		w.Header().Set("Content-Type", "video/mp2t")
		w.Header().Set("Content-Length", "1024")
		w.Write(bytes.Repeat([]byte("a"), 1024))
	case "/small":
		io.WriteString(w, "hello\n") // no Content-Length: the server adds it
	case "/object":
		// Range, conditional requests and HEAD, as net/http implements them.
		w.Header().Set("Etag", `"v1"`)
		http.ServeContent(w, r, "object.ts", modTime, strings.NewReader("0123456789"))
	case "/stream":
		// No length, flushed: chunked (close-delimited for HTTP/1.0).
		for i := range 3 {
			fmt.Fprintf(w, "part %d\n", i)
			w.(http.Flusher).Flush()
		}
	case "/big":
		for range 8 {
			w.Write(bytes.Repeat([]byte("b"), 1000)) // past pendingMax: chunked
		}
	case "/slow":
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		<-h.release
		io.WriteString(w, "-last")
	case "/ctx":
		<-r.Context().Done()
		h.ctxDone <- context.Cause(r.Context())
	case "/echo":
		if v := r.Header.Get("X-A"); v != "" {
			w.Header().Set("X-Echo", v)
		}
		fmt.Fprintf(w, "%s|%d", r.Header.Get("X-A"), len(r.Header))
	case "/watch":
		// Waits on the context (the background read starts) for a while.
		select {
		case <-r.Context().Done():
		case <-h.release:
		}
		io.WriteString(w, "watched")
	case "/short":
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "12345") // short: the connection must close
	case "/panic":
		panic("boom")
	case "/abort":
		io.WriteString(w, strings.Repeat("c", 3000))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	case "/close":
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	case "/nocontent":
		w.WriteHeader(http.StatusNoContent)
		if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrBodyNotAllowed) {
			panic(fmt.Sprintf("write on 204: %v", err))
		}
	case "/inject":
		w.Header().Set("X-Note", "a\r\nX-Injected: 1")
		w.Header()["Bad Name"] = []string{"x"}
		io.WriteString(w, "ok")
	case "/flood":
		chunk := bytes.Repeat([]byte("f"), 64<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				h.writeErr <- err
				return
			}
		}
	default:
		http.NotFound(w, r)
	}
}

func newTestHandler() *testHandler {
	return &testHandler{release: make(chan struct{}), ctxDone: make(chan error, 1), writeErr: make(chan error, 1)}
}

// startServer serves h on loopback with the edge's defaults, changed by
// change.
func startServer(t testing.TB, h http.Handler, change func(*Server)) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	if change != nil {
		change(s)
	}
	s.init() // here, so that tests may look at the server's maps at once
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, ln.Addr().String()
}

// client is a raw connection and a reader of its responses.
type client struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.nc, s); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one response to a request of method, with its body.
func (c *client) read(method string) (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("reading the response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading the body: %v", err)
	}
	return resp, string(b)
}

// closed fails unless the server closed the connection (nothing more to
// read).
func (c *client) closed() {
	c.t.Helper()
	if b, err := c.br.ReadByte(); err == nil {
		rest, _ := c.br.Peek(c.br.Buffered())
		c.t.Fatalf("connection open; read %q", string(b)+string(rest))
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		c.t.Fatal("connection still open")
	}
}

func get(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: e\r\n\r\n" }

func TestKeepAliveAndPipelining(t *testing.T) {
	h := newTestHandler()
	_, addr := startServer(t, h, nil)
	c := dial(t, addr)
	for i := range 2 {
		c.send(get("/1k"))
		resp, body := c.read("GET")
		if resp.StatusCode != 200 || len(body) != 1024 || resp.Close || resp.Header.Get("Date") == "" {
			t.Fatalf("request %d: %d, %d bytes, close %v, header %v", i, resp.StatusCode, len(body), resp.Close, resp.Header)
		}
	}
	// Three requests in one write: three responses, in order.
	c.send(get("/small") + get("/1k") + "HEAD /1k HTTP/1.1\r\nHost: e\r\n\r\n")
	for _, want := range []struct {
		method string
		length int64
		body   string
	}{{"GET", 6, "hello\n"}, {"GET", 1024, strings.Repeat("a", 1024)}, {"HEAD", 1024, ""}} {
		resp, body := c.read(want.method)
		if resp.StatusCode != 200 || resp.ContentLength != want.length || body != want.body {
			t.Fatalf("pipelined %s: %d, length %d, body %q", want.method, resp.StatusCode, resp.ContentLength, body)
		}
	}
	// The HEAD sent no body: the connection is in step.
	c.send(get("/small"))
	if _, body := c.read("GET"); body != "hello\n" {
		t.Fatalf("after HEAD: %q", body)
	}
	if n := h.requests.Load(); n != 6 {
		t.Fatalf("%d requests served, want 6", n)
	}
}

// TestNothingCarriesOver: the request and response, reused from request
// to request on a connection, start empty.
func TestNothingCarriesOver(t *testing.T) {
	_, addr := startServer(t, newTestHandler(), nil)
	c := dial(t, addr)
	c.send("GET /echo HTTP/1.1\r\nHost: e\r\nX-A: 1\r\nX-B: 2\r\n\r\n" + get("/echo"))
	if resp, body := c.read("GET"); body != "1|2" || resp.Header.Get("X-Echo") != "1" {
		t.Fatalf("first: %q %v", body, resp.Header)
	}
	if resp, body := c.read("GET"); body != "|0" || resp.Header.Get("X-Echo") != "" {
		t.Fatalf("second: %q %v", body, resp.Header)
	}
}

func TestResponses(t *testing.T) {
	_, addr := startServer(t, newTestHandler(), nil)
	tests := []struct {
		name, req, method string
		status            int
		header            map[string]string // "" means absent
		body              string
	}{
		{"range", "GET /object HTTP/1.1\r\nHost: e\r\nRange: bytes=2-4\r\n\r\n", "GET", 206,
			map[string]string{"Content-Range": "bytes 2-4/10", "Content-Length": "3"}, "234"},
		{"not modified", "GET /object HTTP/1.1\r\nHost: e\r\nIf-None-Match: \"v1\"\r\n\r\n", "GET", 304,
			map[string]string{"Etag": `"v1"`, "Content-Length": ""}, ""},
		{"head of object", "HEAD /object HTTP/1.1\r\nHost: e\r\n\r\n", "HEAD", 200,
			map[string]string{"Content-Length": "10", "Accept-Ranges": "bytes"}, ""},
		{"chunked stream", get("/stream"), "GET", 200,
			map[string]string{"Transfer-Encoding": "chunked", "Content-Length": ""}, "part 0\npart 1\npart 2\n"},
		{"chunked past the buffer", get("/big"), "GET", 200,
			map[string]string{"Transfer-Encoding": "chunked"}, strings.Repeat("b", 8000)},
		{"no content", get("/nocontent"), "GET", 204, map[string]string{"Content-Length": "", "Transfer-Encoding": ""}, ""},
		{"not found", get("/nothing"), "GET", 404, map[string]string{"Content-Length": "19"}, "404 page not found\n"},
		{"no response splitting", get("/inject"), "GET", 200,
			map[string]string{"X-Note": "a  X-Injected: 1", "X-Injected": "", "Bad Name": ""}, "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			c.send(tc.req)
			resp, body := c.read(tc.method)
			if resp.StatusCode != tc.status || body != tc.body {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
			for k, v := range tc.header {
				got := resp.Header.Get(k)
				if k == "Transfer-Encoding" && len(resp.TransferEncoding) > 0 {
					got = resp.TransferEncoding[0]
				}
				if k == "Content-Length" && v != "" && fmt.Sprint(resp.ContentLength) == v {
					got = v
				}
				if got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			// Still usable.
			c.send(get("/small"))
			if _, body := c.read("GET"); body != "hello\n" {
				t.Fatalf("next request: %q", body)
			}
		})
	}
}

func TestConnectionClose(t *testing.T) {
	_, addr := startServer(t, newTestHandler(), nil)
	tests := []struct {
		name, req, status string
		header            string // a line the response must have
	}{
		{"client asks", "GET /small HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK", "Connection: close"},
		{"handler asks", get("/close"), "HTTP/1.1 200 OK", "Connection: close"},
		{"http/1.0", "GET /small HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK", "Content-Length: 6"},
		{"http/1.0 stream", "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.0 200 OK", "Connection: close"},
		{"body short of its length", get("/short"), "HTTP/1.1 200 OK", "Content-Length: 10"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			c.send(tc.req)
			all, err := io.ReadAll(c.nc) // to EOF: the server closes
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(all, []byte(tc.status+"\r\n")) || !bytes.Contains(all, []byte("\r\n"+tc.header+"\r\n")) {
				t.Fatalf("response %q lacks %q / %q", all, tc.status, tc.header)
			}
		})
	}
	// HTTP/1.0 keep-alive stays open, and says so.
	c := dial(t, addr)
	for range 2 {
		c.send("GET /small HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		resp, body := c.read("GET")
		if resp.Proto != "HTTP/1.0" || resp.Header.Get("Connection") != "keep-alive" || body != "hello\n" {
			t.Fatalf("%s %v %q", resp.Proto, resp.Header, body)
		}
	}
}

// TestRefused: requests the server answers itself, closing the connection:
// nothing after them on the connection is read as a request.
// TestRefused: the lean server, and net/http behind a Guard and Strict,
// refuse the same requests with the same answer, and never serve what
// follows them.
func TestRefused(t *testing.T) {
	forBoth(t, testRefused)
}

func testRefused(t *testing.T, start starter) {
	h := newTestHandler()
	h.paths = make(chan string, 16)
	addr := start(t, h, 1<<10, nil)
	smuggled := get("/smuggled")
	tests := []struct {
		name, req string
		status    int
	}{
		{"CL and TE", "POST /1k HTTP/1.1\r\nHost: e\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled, 400},
		{"TE on GET", "GET /1k HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(smuggled), smuggled), 400},
		{"duplicate CL", "GET /1k HTTP/1.1\r\nHost: e\r\nContent-Length: 0\r\nContent-Length: " + fmt.Sprint(len(smuggled)) + "\r\n\r\n" + smuggled, 400},
		{"body on GET", "GET /1k HTTP/1.1\r\nHost: e\r\nContent-Length: " + fmt.Sprint(len(smuggled)) + "\r\n\r\n" + smuggled, 400},
		{"body on POST", "POST /1k HTTP/1.1\r\nHost: e\r\nContent-Length: " + fmt.Sprint(len(smuggled)) + "\r\n\r\n" + smuggled, 405},
		{"obs-fold", "GET /1k HTTP/1.1\r\nHost: e\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n" + smuggled, 400},
		{"bare LF", "GET /1k HTTP/1.1\nHost: e\n\n" + smuggled, 400},
		{"head too large", "GET /1k HTTP/1.1\r\nHost: e\r\nX-Big: " + strings.Repeat("x", 2<<10) + "\r\n\r\n" + smuggled, 431},
		{"request line too large", "GET /" + strings.Repeat("x", 2<<10) + " HTTP/1.1\r\nHost: e\r\n\r\n" + smuggled, 431},
		{"expect", "GET /1k HTTP/1.1\r\nHost: e\r\nExpect: 100-continue\r\n\r\n" + smuggled, 417},
		{"missing host", "GET /1k HTTP/1.1\r\n\r\n" + smuggled, 400},
		{"http/2", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
		{"TE identity", "GET /1k HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: identity\r\n\r\n" + smuggled, 501},
		{"two TE", "GET /1k HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled, 501},
		{"bare CR", "GET /1k HTTP/1.1\rHost: e\r\n\r\n" + smuggled, 400},
		{"bad Host", "GET /1k HTTP/1.1\r\nHost: [::1\r\n\r\n" + smuggled, 400},
		{"bad escape", "GET /a%zz HTTP/1.1\r\nHost: e\r\n\r\n" + smuggled, 400},
		{"after a good one", get("/small") + "GET /1k HTTP/1.1\nHost: e\n\n" + smuggled, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			c.send(tc.req)
			if strings.HasPrefix(tc.req, get("/small")) {
				if resp, body := c.read("GET"); resp.StatusCode != 200 || body != "hello\n" {
					t.Fatalf("the good request first: %d %q", resp.StatusCode, body)
				}
			}
			resp, _ := c.read("GET")
			if resp.StatusCode != tc.status || !resp.Close {
				t.Fatalf("%d (close %v), want %d and close", resp.StatusCode, resp.Close, tc.status)
			}
			if tc.status == 405 && resp.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			c.closed()
		})
	}
	if n := h.requests.Load(); n != 1 {
		t.Fatalf("the handler saw %d requests, want 1 (the good one)", n)
	}
}

// TestSlowloris: a client trickling its head is cut off at the header
// timeout, counted from its first byte, however steadily it sends.
func TestSlowloris(t *testing.T) {
	const timeout = 300 * time.Millisecond
	_, addr := startServer(t, newTestHandler(), func(s *Server) { s.ReadHeaderTimeout = timeout })
	c := dial(t, addr)
	c.send(get("/small")) // a first request, so that the next one starts from idle
	c.read("GET")
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		head := "GET /small HTTP/1.1\r\nHost: e\r\nX-Slow: " + strings.Repeat("x", 100)
		for i := 0; i < len(head); i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := c.nc.Write([]byte{head[i]}); err != nil {
				return
			}
		}
	}()
	_, err := c.br.ReadByte()
	elapsed := time.Since(start)
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection not closed: %v", err)
	}
	// A timeout fires between d and d + slack(d) + a tick; the first byte
	// came 20 ms after start.
	if max := timeout + time.Duration(slack(timeout)) + tick + 2*time.Second; elapsed < timeout || elapsed > max {
		t.Fatalf("closed after %v, want %v..%v", elapsed, timeout, max)
	}
}

// TestFirstRequestTimeout: a connection that sends nothing is closed at the
// header timeout.
func TestFirstRequestTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	_, addr := startServer(t, newTestHandler(), func(s *Server) { s.ReadHeaderTimeout = timeout })
	start := time.Now()
	c := dial(t, addr)
	c.closed()
	if elapsed := time.Since(start); elapsed < timeout {
		t.Fatalf("closed after %v, before the %v timeout", elapsed, timeout)
	}
}

func TestIdleTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	_, addr := startServer(t, newTestHandler(), func(s *Server) { s.IdleTimeout = timeout })
	c := dial(t, addr)
	c.send(get("/small"))
	c.read("GET")
	start := time.Now()
	c.closed()
	if elapsed, max := time.Since(start), timeout+time.Duration(slack(timeout))+tick+2*time.Second; elapsed < timeout || elapsed > max {
		t.Fatalf("idle connection closed after %v, want %v..%v", elapsed, timeout, max)
	}
}

// TestWriteTimeout: a client that stops reading does not hold a handler
// past the write timeout.
func TestWriteTimeout(t *testing.T) {
	h := newTestHandler()
	_, addr := startServer(t, h, func(s *Server) { s.WriteTimeout = 300 * time.Millisecond })
	c := dial(t, addr)
	c.send(get("/flood"))
	select {
	case err := <-h.writeErr:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("write error %v, want a deadline", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler is still writing")
	}
}

// TestPeerGone: a handler waiting on its context learns when the client
// leaves (the server reads in the background only then).
func TestPeerGone(t *testing.T) {
	h := newTestHandler()
	h.paths = make(chan string, 1)
	_, addr := startServer(t, h, nil)
	c := dial(t, addr)
	c.send(get("/ctx"))
	<-h.paths
	select {
	case err := <-h.ctxDone:
		t.Fatalf("context ended while the client is there: %v", err)
	default:
	}
	c.nc.Close()
	select {
	case err := <-h.ctxDone:
		if !errors.Is(err, errPeerGone) {
			t.Fatalf("cause %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's context did not end when the client left")
	}
}

func TestPanics(t *testing.T) {
	h := newTestHandler()
	_, addr := startServer(t, h, nil)
	c := dial(t, addr)
	c.send(get("/panic"))
	c.closed() // no response, as net/http

	// A panic after part of a body: the client sees a cut body.
	c = dial(t, addr)
	c.send(get("/abort"))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(resp.Body); err == nil {
		t.Fatalf("cut body read whole: %d bytes", len(b))
	}
	// The server goes on.
	c = dial(t, addr)
	c.send(get("/small"))
	if _, body := c.read("GET"); body != "hello\n" {
		t.Fatal(body)
	}
}

// TestShutdown: Shutdown closes idle connections at once, lets a response
// in flight finish (closing its connection after it), refuses new
// connections, and returns once all is done.
func TestShutdown(t *testing.T) {
	h := newTestHandler()
	s, addr := startServer(t, h, nil)
	idle := dial(t, addr)
	idle.send(get("/small"))
	idle.read("GET")

	busy := dial(t, addr)
	busy.send(get("/slow"))
	resp, err := http.ReadResponse(busy.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first" {
		t.Fatalf("%q %v", first, err)
	}

	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	idle.closed()
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("new connection accepted during shutdown")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned with a response in flight: %v", err)
	default:
	}
	close(h.release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "-last" {
		t.Fatalf("rest %q, %v", rest, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	busy.closed()
}

// TestShutdownTimeout: past its context, Shutdown closes connections and
// ends their requests' contexts.
func TestShutdownTimeout(t *testing.T) {
	h := newTestHandler()
	h.paths = make(chan string, 1)
	s, addr := startServer(t, h, nil)
	c := dial(t, addr)
	c.send(get("/ctx"))
	<-h.paths
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case err := <-h.ctxDone:
		if !errors.Is(err, errServerClosed) && !errors.Is(err, errPeerGone) {
			t.Fatalf("cause %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request's context did not end")
	}
	c.closed()
}

// TestHandoff: requests Handoff chooses are served, with their bodies, by
// the fallback net/http server, which keeps the connection.
func TestHandoff(t *testing.T) {
	forBoth(t, testHandoff)
}

func testHandoff(t *testing.T, start starter) {
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "api %s %s %q", r.Method, r.URL.Path, b)
	})
	h := newTestHandler()
	addr := start(t, h, 64<<10, api)
	c := dial(t, addr)
	c.send(get("/small"))
	if _, body := c.read("GET"); body != "hello\n" {
		t.Fatal(body)
	}
	c.send("POST /api/revoke HTTP/1.1\r\nHost: e\r\nContent-Length: 4\r\n\r\nabcd" + "POST /api/x HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
	for _, want := range []string{`api POST /api/revoke "abcd"`, `api POST /api/x "ok"`} {
		if resp, body := c.read("POST"); resp.StatusCode != 200 || body != want {
			t.Fatalf("%d %q, want %q", resp.StatusCode, body, want)
		}
	}
	if n := h.requests.Load(); n != 1 {
		t.Fatalf("lean handler saw %d requests, want 1", n)
	}
}

// TestPipelinedDuringWatch: the byte the background read takes from a
// request sent while the handler waits is not lost.
func TestPipelinedDuringWatch(t *testing.T) {
	h := newTestHandler()
	h.paths = make(chan string, 2)
	_, addr := startServer(t, h, nil)
	c := dial(t, addr)
	c.send(get("/watch"))
	<-h.paths
	c.send(get("/small"))
	// The next request's first byte reaches the background read, which
	// then stops: wait until the kernel has it, then let the handler end.
	time.Sleep(50 * time.Millisecond)
	close(h.release)
	if _, body := c.read("GET"); body != "watched" {
		t.Fatal(body)
	}
	if _, body := c.read("GET"); body != "hello\n" {
		t.Fatalf("pipelined request after the watch: %q", body)
	}
}

// TestShutdownNewConnection: a connection accepted before Shutdown, whose
// first request comes after, is served (and then closed), as net/http
// gives new connections a grace time.
func TestShutdownNewConnection(t *testing.T) {
	s, addr := startServer(t, newTestHandler(), nil)
	c := dial(t, addr)
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	for !s.shutting.Load() { // the request must come after Shutdown began
		time.Sleep(time.Millisecond)
	}
	c.send(get("/small"))
	resp, body := c.read("GET")
	if body != "hello\n" || !resp.Close {
		t.Fatalf("%q, close %v", body, resp.Close)
	}
	c.closed()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestPipelinedResponseNotHeld: the response to a pipelined request goes
// out before the next handler runs, however long that one takes.
func TestPipelinedResponseNotHeld(t *testing.T) {
	h := newTestHandler()
	_, addr := startServer(t, h, nil)
	c := dial(t, addr)
	c.send(get("/small") + get("/slow"))
	if _, body := c.read("GET"); body != "hello\n" {
		t.Fatal(body)
	}
	close(h.release)
	if _, body := c.read("GET"); body != "first-last" {
		t.Fatal(body)
	}
}
