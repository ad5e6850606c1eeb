package h1

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// starter serves h on loopback with a head limit; api, when set, serves
// the paths under /api/, whose connections leave the strict judging.
type starter func(t *testing.T, h http.Handler, maxHeaderBytes int, api http.Handler) string

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// forBoth runs test on the lean server and on net/http behind a Guard and
// Strict: they must behave alike.
func forBoth(t *testing.T, test func(*testing.T, starter)) {
	t.Run("lean", func(t *testing.T) {
		test(t, func(t *testing.T, h http.Handler, maxHeaderBytes int, api http.Handler) string {
			_, addr := startServer(t, h, func(s *Server) {
				s.MaxHeaderBytes = maxHeaderBytes
				if api != nil {
					s.Handoff = isAPI
					s.Fallback = &http.Server{Handler: apiMux(Strict(h, nil), api)}
				}
			})
			return addr
		})
	})
	t.Run("net-http", func(t *testing.T) {
		test(t, func(t *testing.T, h http.Handler, maxHeaderBytes int, api http.Handler) string {
			return startGuarded(t, h, maxHeaderBytes, api)
		})
	})
}

// apiMux sends /api/ to api, the rest to h.
func apiMux(h, api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPI(r) {
			api.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// startGuarded serves h with net/http behind a Guard, as the edge does
// with server.engine "net/http".
func startGuarded(t testing.TB, h http.Handler, maxHeaderBytes int, api http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &Guard{MaxHeaderBytes: maxHeaderBytes}
	handler := Strict(h, nil)
	if api != nil {
		g.Handoff = isAPI
		handler = apiMux(handler, api)
	}
	s := &http.Server{Handler: handler, ConnContext: g.ConnContext, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: maxHeaderBytes}
	done := make(chan error, 1)
	go func() { done <- s.Serve(g.Listener(ln)) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestEarlyRefusal: a head that can never become valid is answered (a TLS
// handshake: closed) at once, without its end, on both engines.
func TestEarlyRefusal(t *testing.T) {
	forBoth(t, func(t *testing.T, start starter) {
		addr := start(t, newTestHandler(), 64<<10, nil)
		for _, tc := range []struct {
			name, req string
			status    int
		}{
			{"TLS ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 0},
			{"bare LF request line", "GET / HTTP/1.1\nHost: e", 400},
			{"NUL bytes", "\x00\x00\x00\x00", 400},
			{"random bytes", "\x8f\x1c\xe2\x07", 400},
			{"control byte in method", "G\x01T", 400},
			{"control byte in target", "GET /a\x01", 400},
			{"bad version", "GET / HTTQ", 400},
			{"bare LF in a field", "GET / HTTP/1.1\r\nHost: e\nX: y", 400},
			{"after a good one", get("/small") + "GET / HTTP/1.1\r\nX: y\n", 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := dial(t, addr)
				c.nc.SetDeadline(time.Now().Add(2 * time.Second)) // well before the header timeout
				c.send(tc.req)
				if strings.HasPrefix(tc.req, get("/small")) {
					if resp, _ := c.read("GET"); resp.StatusCode != 200 {
						t.Fatalf("the good request: %d", resp.StatusCode)
					}
				}
				if tc.status == 0 {
					c.closed()
					return
				}
				if resp, _ := c.read("GET"); resp.StatusCode != tc.status || !resp.Close {
					t.Fatalf("%d (close %v), want %d and close", resp.StatusCode, resp.Close, tc.status)
				}
				c.closed()
			})
		}
	})
}

// TestGuardStandIn: the stand-in request for a refused head cannot be
// forged: a client that sends its header gets served (the secret is the
// connection's own).
func TestGuardStandIn(t *testing.T) {
	h := newTestHandler()
	addr := startGuarded(t, h, 64<<10, nil)
	c := dial(t, addr)
	c.send("GET /small HTTP/1.1\r\nHost: e\r\n" + refusalHeader + ": 0\r\n\r\n")
	if resp, body := c.read("GET"); resp.StatusCode != 200 || body != "hello\n" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// FuzzGuard: any bytes sent to the lean server and to net/http behind a
// Guard get the same answers: the same statuses in the same order (or
// none), whatever the framing.
func FuzzGuard(f *testing.F) {
	for _, s := range []string{
		get("/small"),
		get("/small") + get("/1k"),
		"GET / HTTP/1.1\nHost: e\n\n",
		"GET / HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET /small HTTP/1.0\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"\x16\x03\x01\x00\x05hello",
		"GET /small HTTP/1.1\r\nHost: e\r\nX: a\r\n b\r\n\r\n",
		"GET http://e/small HTTP/1.1\r\nHost: e\r\n\r\n",
		"GET /small HTTP/1.1\r\nHost: [::1]:80\r\nContent-Length: 0\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	var addrs [2]string
	_, addrs[0] = startServer(f, newTestHandler(), func(s *Server) { s.MaxHeaderBytes = 4 << 10 })
	addrs[1] = startGuarded(f, newTestHandler(), 4<<10, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		var got [2][]int
		for i, addr := range addrs {
			got[i] = statuses(t, addr, b)
		}
		if !slices.Equal(got[0], got[1]) {
			t.Fatalf("%q: lean answers %v, net/http behind a Guard %v", b, got[0], got[1])
		}
	})
}

// statuses sends b, closes the writing side, and returns the statuses of
// the answers read until the server closes.
func statuses(t *testing.T, addr string, b []byte) []int {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.(*net.TCPConn).SetLinger(0) // no TIME_WAIT: thousands of runs a second
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write(b)
	nc.(*net.TCPConn).CloseWrite()
	br := bufio.NewReader(nc)
	var out []int
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
		if err != nil {
			return out
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out = append(out, resp.StatusCode)
	}
}
