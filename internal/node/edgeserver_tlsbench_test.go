package node_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/certs/certstest"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/token/smde"
)

// BenchmarkTLSNewConnection: what a viewer's new HTTPS connection costs
// (handshake and one cached 1 KB request on the lean HTTP/1.1 server,
// TLS 1.3, ECDSA P-256), with a full handshake and with a resumed one
// (a session ticket from an earlier connection), and with X25519 alone
// as the key exchange (tls.curve_preferences without the post-quantum
// hybrid). cpu-ns/op is the process's CPU, client and edge together.
func BenchmarkTLSNewConnection(b *testing.B) {
	body := make([]byte, 1024)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(body)
	}))
	defer origin.Close()
	dir := b.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := certstest.Write(b, cf, kf, 1)
	s, _ := startEdge(b, origin.URL, func(c *config.Edge) {
		c.AccessLog.File, c.Admin.Listen = "", ""
		c.TLS.Listen, c.TLS.CertFile, c.TLS.KeyFile = "127.0.0.1:0", cf, kf
	})
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	seg := signFor(b, smde.Policy{Paths: []string{"/vod/"}, Expiry: farFuture}, smde.Viewer{})
	url := "https://" + s.TLSAddr + "/" + seg + "/vod/1k.bin"
	for _, tc := range []struct {
		name   string
		resume bool
		curves []tls.CurveID
	}{{"full", false, nil}, {"resumed", true, nil}, {"full-x25519", false, []tls.CurveID{tls.X25519}}} {
		b.Run(tc.name, func(b *testing.B) {
			var sessions tls.ClientSessionCache
			if tc.resume {
				sessions = tls.NewLRUClientSessionCache(1)
			}
			get := func() bool {
				tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ClientSessionCache: sessions, CurvePreferences: tc.curves},
					TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}, DisableKeepAlives: true}
				resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || n != 1024 {
					b.Fatalf("%d, %d bytes", resp.StatusCode, n)
				}
				return resp.TLS.DidResume
			}
			get() // the miss, and the first ticket
			cpu0 := processCPU()
			for b.Loop() {
				if get() != tc.resume {
					b.Fatalf("resumed %v, want %v", !tc.resume, tc.resume)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
