package node_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/certs/certstest"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/token/smde"
)

// TestLeanTLS: on the HTTPS listener the lean server serves HTTP/1.1
// (keep-alive, pipelining) and refuses what it refuses on the plain
// listener; HTTP/2 clients are served by net/http; a connection that does
// not complete its handshake within server.read_header_timeout is closed
// and counted.
func TestLeanTLS(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "media") }))
	defer origin.Close()
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := certstest.Write(t, cf, kf, 1)
	s, _ := startEdge(t, origin.URL, func(c *config.Edge) {
		c.Server.Engine = config.EngineLean
		c.Server.ReadHeaderTimeout = config.Duration(300 * time.Millisecond)
		c.TLS = config.TLS{Listen: "127.0.0.1:0", CertFile: cf, KeyFile: kf, MinVersion: "1.2"}
	})
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	tok := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: farFuture}, smde.Viewer{})

	// Two pipelined requests and a refused one on one HTTP/1.1 connection.
	c, err := tls.Dial("tcp", s.TLSAddr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p := c.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Fatalf("ALPN %q", p)
	}
	req := fmt.Sprintf("GET /%s/vod/a.ts HTTP/1.1\r\nHost: edge\r\n\r\n", tok)
	fmt.Fprint(c, req+req+"GET /vod/a.ts HTTP/1.1\r\nHost: edge\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	for i, want := range []int{200, 200, 417} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("response %d: %d, want %d", i, resp.StatusCode, want)
		}
	}

	// HTTP/2.
	h2 := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := h2.Get("https://" + s.TLSAddr + "/" + tok + "/vod/a.ts")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("HTTP/2: %s %d", resp.Proto, resp.StatusCode)
	}

	// A connection that never says hello is closed after the timeout.
	raw, err := net.Dial("tcp", s.TLSAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	t0 := time.Now()
	if _, err := raw.Read(make([]byte, 1)); err == nil || time.Since(t0) > 4*time.Second {
		t.Fatalf("a silent connection: %v after %v", err, time.Since(t0))
	}
	// (The timeout closes the connection before the server counts it.)
	eventually(t, "the failed handshake to be counted", func() bool {
		_, metrics, _ := get(t, "http://"+s.AdminAddr+"/metrics", nil)
		return strings.Contains(metrics, `smd_edge_http_refused_total{code="tls_handshake_failed"} 1`)
	})
}
