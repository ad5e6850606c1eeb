package node_test

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/acme/pebbletest"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/token/smde"
)

// TestACMEEdge: with tls.acme, the edge gets its HTTPS certificate from a
// real ACME server (pebble) through its own listeners (HTTP-01 on the
// plain one, TLS-ALPN-01 on the HTTPS one), then serves media over HTTPS
// with it; the CA's challenge path is answered before any route.
func TestACMEEdge(t *testing.T) {
	for _, ch := range []string{"http-01", "tls-alpn-01"} {
		t.Run(ch, func(t *testing.T) {
			origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "media") }))
			defer origin.Close()
			hp, tp := freePort(t), freePort(t)
			ca := pebbletest.Start(t, hp, tp, time.Hour)
			s, _ := startEdge(t, origin.URL, func(c *config.Edge) {
				c.Routes = []config.Route{{Prefix: "/", Origin: origin.URL}} // the pipeline claims every path
				c.Listen = "127.0.0.1:" + strconv.Itoa(hp)
				c.TLS.Listen = "127.0.0.1:" + strconv.Itoa(tp)
				c.TLS.ACME = config.ACME{Domains: []string{"cdn.smd.test"}, CA: ca.Directory, CARootFile: ca.RootFile,
					Challenges: []string{ch}, StorageDir: t.TempDir()}
			})
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{ServerName: "cdn.smd.test", InsecureSkipVerify: true},
			}}
			seg := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: farFuture}, smde.Viewer{})
			deadline := time.Now().Add(60 * time.Second)
			for {
				resp, err := client.Get("https://" + s.TLSAddr + "/" + seg + "/vod/a.ts")
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					issuer := resp.TLS.PeerCertificates[0].Issuer.CommonName
					if resp.StatusCode != 200 || string(b) != "media" || !strings.Contains(issuer, "Pebble") {
						t.Fatalf("over HTTPS: %d %q, certificate issued by %q", resp.StatusCode, b, issuer)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no HTTPS with an ACME certificate after 60 s: %v", err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			// A challenge path nobody asked for: the challenge handler's
			// 404, not the pipeline's 401 (its route "/" claims the path).
			if code := status200(t, "http://"+s.Addr+"/.well-known/acme-challenge/unknown"); code != 404 {
				t.Errorf("an unknown challenge: %d", code)
			}
			if code := status200(t, "http://"+s.Addr+"/.well-known/other"); code != 401 {
				t.Errorf("another path of the route: %d", code)
			}
		})
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func status200(t *testing.T, url string) int {
	t.Helper()
	code, _, _ := get(t, url, nil)
	return code
}
