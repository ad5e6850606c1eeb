package node_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/config"
)

// TestMaxConnections: past server.max_connections a new connection is
// not served until one closes (it waits in the listen queue), the wait is
// counted, and requests the HTTP layer refuses are counted by code; alike
// on both engines.
func TestMaxConnections(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") }))
	defer origin.Close()
	forEachEngine(t, func(t *testing.T, engine string) {
		s, _ := startEdge(t, origin.URL, withEngine(engine, func(c *config.Edge) { c.Server.MaxConnections = 2 }))
		var idle []net.Conn
		for range 2 {
			c, err := net.Dial("tcp", s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			idle = append(idle, c)
		}
		third, err := net.Dial("tcp", s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer third.Close()
		io.WriteString(third, "GET /public/x HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n")
		third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, err := third.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Fatalf("a third connection was served over a limit of 2 (%d, %v)", n, err)
		}
		idle[0].Close()
		third.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(third)
		if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 ") {
			t.Fatalf("after one closed: %q, %v", b, err)
		}

		// Refusals by the HTTP layer, counted by code.
		for _, raw := range []string{"GET / HTTP/1.1\nHost: e\n\n", "\x16\x03\x01\x00\x05", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"} {
			c, err := net.Dial("tcp", s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, raw)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			io.ReadAll(c)
			c.Close()
		}
		idle[1].Close()
		_, metrics, _ := get(t, "http://"+s.AdminAddr+"/metrics", nil)
		for _, want := range []string{
			"smd_edge_connections_max 2",
			"smd_edge_connections_limited_total ",
			`smd_edge_http_refused_total{code="line_end"} 1`,
			`smd_edge_http_refused_total{code="tls_handshake"} 1`,
			`smd_edge_http_refused_total{code="bad_host"} 1`,
		} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if strings.Contains(metrics, "smd_edge_connections_limited_total 0") {
			t.Error("the wait for a slot was not counted")
		}
	})
}
