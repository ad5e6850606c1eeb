package node_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/smd-media/smd/internal/certs/certstest"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/token/smde"
)

// TestHTTP3: with tls.http3.listen, the edge serves HTTP/3 over QUIC with
// the HTTPS listener's certificate and the same checks (a valid token
// plays, none or a token for another path is refused), the access event
// records it, and HTTPS answers announce it in Alt-Svc.
func TestHTTP3(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "media "+r.URL.Path) }))
	defer origin.Close()
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := certstest.Write(t, cf, kf, 1)
	s, logFile := startEdge(t, origin.URL, func(c *config.Edge) {
		c.TLS = config.TLS{Listen: "127.0.0.1:0", CertFile: cf, KeyFile: kf, MinVersion: "1.2",
			HTTP3: config.HTTP3{Listen: "127.0.0.1:0", AdvertisePort: 8443}}
	})
	if s.HTTP3Addr == "" {
		t.Fatal("no HTTP/3 address")
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	h3 := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer h3.Close()
	client := &http.Client{Transport: h3, Timeout: 10 * time.Second}
	ok := signFor(t, smde.Policy{Paths: []string{"/vod/m1/"}, Session: true, Expiry: farFuture}, smde.Viewer{SessionID: "Quic1"})
	for _, tc := range []struct {
		path string
		want int
		body string
	}{
		{"/" + ok + "/vod/m1/seg1.ts", 200, "media /vod/m1/seg1.ts"},
		{"/vod/m1/seg1.ts", 401, ""},
		{"/" + ok + "/vod/m2/seg1.ts", 401, ""},
	} {
		resp, err := client.Get("https://" + s.HTTP3Addr + tc.path)
		if err != nil {
			t.Fatalf("HTTP/3 GET: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 3 || resp.StatusCode != tc.want || (tc.body != "" && string(b) != tc.body) {
			t.Errorf("%s: %s %d %q, want HTTP/3 %d %q", tc.path, resp.Proto, resp.StatusCode, b, tc.want, tc.body)
		}
	}
	// HTTPS (HTTP/2 here) announces HTTP/3 on the advertised port.
	https := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := https.Get("https://" + s.TLSAddr + "/" + ok + "/vod/m1/seg1.ts")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if alt := resp.Header.Get("Alt-Svc"); !strings.Contains(alt, `h3=":8443"`) {
		t.Errorf("Alt-Svc %q, want h3 on the advertised port", alt)
	}
	// The access events of the HTTP/3 requests are the pipeline's.
	eventually(t, "the HTTP/3 request's access event", func() bool {
		return strings.Contains(readFile(t, logFile), `"session_id":"Quic1"`)
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, _ := os.ReadFile(name)
	return string(b)
}

// BenchmarkHTTPSProtocols fetches a cached object with a token over
// HTTP/2 and over HTTP/3 from one edge, one request at a time on one
// connection each; cpu-ns/op is the process's CPU per request (client
// included, the same quic-go or net/http client cost on both sides of
// the comparison as far as each protocol allows).
func BenchmarkHTTPSProtocols(b *testing.B) {
	for _, size := range []int{1 << 10, 200 << 10} {
		body := strings.Repeat("x", size)
		origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=3600")
			io.WriteString(w, body)
		}))
		dir := b.TempDir()
		cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		cert := certstest.Write(b, cf, kf, 1)
		s, _ := startEdge(b, origin.URL, func(c *config.Edge) {
			c.AccessLog.File = ""
			c.Admin.Listen = ""
			c.TLS = config.TLS{Listen: "127.0.0.1:0", CertFile: cf, KeyFile: kf, MinVersion: "1.2", HTTP3: config.HTTP3{Listen: "127.0.0.1:0"}}
		})
		pool := x509.NewCertPool()
		pool.AddCert(cert)
		tok, err := (&smde.Signer{Key: testKey}).Sign(&smde.Policy{Paths: []string{"/"}, Expiry: farFuture}, &smde.Viewer{})
		if err != nil {
			b.Fatal(err)
		}
		h3 := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
		for _, p := range []struct {
			name string
			c    *http.Client
			addr string
		}{
			{"h2", &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}, s.TLSAddr},
			{"h3", &http.Client{Transport: h3}, s.HTTP3Addr},
		} {
			url := "https://" + p.addr + "/" + tok.Token + "/vod/object.bin"
			get := func() {
				resp, err := p.c.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || n != int64(size) {
					b.Fatalf("%d, %d bytes", resp.StatusCode, n)
				}
			}
			get() // the miss, and the connection
			b.Run(fmt.Sprintf("%dKB/%s", size>>10, p.name), func(b *testing.B) {
				cpu0 := processCPU()
				for b.Loop() {
					get()
				}
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
		h3.Close()
		origin.Close()
	}
}
