package node_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
	"github.com/smd-media/smd/internal/certs/certstest"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/node"
	"github.com/smd-media/smd/token/smde"
	"golang.org/x/crypto/ocsp"
)

// TestTLSReloadKeepsConnections: the HTTPS certificate is replaced on
// SIGHUP (Reload) and when its files change, while the edge serves: a
// connection opened before keeps working (HTTP/1.1 keep-alive and HTTP/2)
// with the certificate it shook hands with, and new connections get the
// new one. The minimum version is enforced.
func TestTLSReloadKeepsConnections(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "media") }))
	defer origin.Close()
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := certstest.Write(t, cf, kf, 1)
	var cfg *config.Edge
	s, _ := startEdge(t, origin.URL, func(c *config.Edge) {
		c.TLS = config.TLS{Listen: "127.0.0.1:0", CertFile: cf, KeyFile: kf, Reload: config.Duration(20 * time.Millisecond), MinVersion: "1.2"}
		cfg = c
	})
	pool := x509.NewCertPool()
	pool.AddCert(first)
	seg := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: farFuture}, smde.Viewer{})
	url := "https://" + s.TLSAddr + "/" + seg + "/vod/a.m4s"

	// get fetches url with c and returns the serial of the certificate of
	// the connection it used, and whether the connection was reused.
	get := func(c *http.Client) (serial int64, reused bool) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		}))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64(), reused
	}
	client := func(h2 bool, pool *x509.CertPool) *http.Client {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		}
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	h1, h2 := client(false, pool), client(true, pool)
	for _, c := range []*http.Client{h1, h2} {
		if sn, _ := get(c); sn != 1 {
			t.Fatalf("before: serial %d", sn)
		}
	}

	// SIGHUP: the files hold a new pair; Reload reads them at once.
	second := certstest.Write(t, cf, kf, 2)
	pool.AddCert(second)
	if _, err := s.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if sn, _ := get(client(true, pool)); sn == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("new connections still get the old certificate")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for name, c := range map[string]*http.Client{"HTTP/1.1": h1, "HTTP/2": h2} {
		sn, reused := get(c)
		if !reused || sn != 1 {
			t.Errorf("%s: the connection opened before the reload: reused %v, serial %d; want it kept, with its certificate", name, reused, sn)
		}
	}

	// The files change again: the periodic check loads them.
	third := certstest.Write(t, cf, kf, 3)
	pool.AddCert(third)
	deadline = time.Now().Add(10 * time.Second)
	for {
		if sn, _ := get(client(false, pool)); sn == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the changed files were not loaded")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// TLS 1.1 is refused.
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}, Timeout: 5 * time.Second}
	if resp, err := old.Get(url); err == nil {
		resp.Body.Close()
		t.Fatal("a TLS 1.1 client was served")
	}
}

// TestOCSPStaplingEdge: with tls.ocsp_stapling (the default), an edge
// whose certificate names an OCSP responder staples the responder's
// answer to HTTPS handshakes, over HTTP/1.1 (the lean server), HTTP/2 and
// HTTP/3, and counts the answer in its metrics.
func TestOCSPStaplingEdge(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "media") }))
	defer origin.Close()
	ca := certstest.NewCA(t)
	cf, kf := ca.WriteLeaf(30, false, false)
	s, _ := startEdge(t, origin.URL, func(c *config.Edge) {
		c.TLS.Listen, c.TLS.CertFile, c.TLS.KeyFile = "127.0.0.1:0", cf, kf
		c.TLS.HTTP3.Listen = "127.0.0.1:0"
	})
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	seg := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: farFuture}, smde.Viewer{})
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, metrics, _ := get(t, "http://"+s.AdminAddr+"/metrics", nil)
		if strings.Contains(metrics, `smd_edge_tls_ocsp_fetches_total{result="good"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no good OCSP answer counted in 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	h1 := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
	h2 := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	h3 := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer h3.Close()
	for _, tc := range []struct {
		rt    http.RoundTripper
		addr  string
		proto int
	}{{h1, s.TLSAddr, 1}, {h2, s.TLSAddr, 2}, {h3, s.HTTP3Addr, 3}} {
		resp, err := (&http.Client{Transport: tc.rt, Timeout: 10 * time.Second}).Get("https://" + tc.addr + "/" + seg + "/vod/a.m4s")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ProtoMajor != tc.proto {
			t.Fatalf("HTTP/%d: %s %s", tc.proto, resp.Proto, resp.Status)
		}
		staple, err := ocsp.ParseResponseForCert(resp.TLS.OCSPResponse, resp.TLS.PeerCertificates[0], ca.Cert)
		if err != nil || staple.Status != ocsp.Good {
			t.Fatalf("HTTP/%d: staple: %v", tc.proto, err)
		}
	}
}

// TestTLSResumption: a viewer that comes back on a new connection resumes
// its TLS session (TLS 1.3 session tickets, Go's default, and TLS 1.2's)
// instead of a full handshake, on the lean HTTP/1.1 server and on HTTP/2,
// and a resumed connection serves as a new one does.
func TestTLSResumption(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "media") }))
	defer origin.Close()
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := certstest.Write(t, cf, kf, 1)
	s, _ := startEdge(t, origin.URL, func(c *config.Edge) {
		c.TLS.Listen, c.TLS.CertFile, c.TLS.KeyFile = "127.0.0.1:0", cf, kf
	})
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	seg := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: farFuture}, smde.Viewer{})
	url := "https://" + s.TLSAddr + "/" + seg + "/vod/a.m4s"
	for _, tc := range []struct {
		name string
		h2   bool
		max  uint16
	}{{"HTTP/1.1, TLS 1.3", false, tls.VersionTLS13}, {"HTTP/2, TLS 1.3", true, tls.VersionTLS13}, {"HTTP/1.1, TLS 1.2", false, tls.VersionTLS12}} {
		t.Run(tc.name, func(t *testing.T) {
			sessions := tls.NewLRUClientSessionCache(4)
			var resumed []bool
			for range 3 {
				// A new transport each time: a new connection.
				tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ClientSessionCache: sessions, MaxVersion: tc.max}, ForceAttemptHTTP2: tc.h2}
				if !tc.h2 {
					tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
				}
				resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				tr.CloseIdleConnections()
				if resp.StatusCode != 200 || string(b) != "media" || resp.ProtoMajor != map[bool]int{false: 1, true: 2}[tc.h2] {
					t.Fatalf("%s %d %q", resp.Proto, resp.StatusCode, b)
				}
				resumed = append(resumed, resp.TLS.DidResume)
			}
			if resumed[0] || !resumed[1] || !resumed[2] {
				t.Fatalf("resumed: %v, want [false true true]", resumed)
			}
		})
	}
}

// TestSessionTicketKeysShared: two edges with the same
// tls.session_ticket_key_files resume each other's sessions (a viewer
// moved by a load balancer); an edge with other keys does not. Rotation
// as an operator does it: the files' contents change (the current key
// becomes the previous one, a new one is current) and SIGHUP reads them:
// a ticket under the previous key still resumes, one under a key gone
// does not.
func TestSessionTicketKeysShared(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "media") }))
	defer origin.Close()
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := certstest.Write(t, cf, kf, 1)
	write := func(f, hexKey string) {
		if err := os.WriteFile(f, []byte(hexKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cur, prev, other := filepath.Join(dir, "current.key"), filepath.Join(dir, "previous.key"), filepath.Join(dir, "other.key")
	write(cur, strings.Repeat("a1", 32))
	write(prev, strings.Repeat("a0", 32))
	write(other, strings.Repeat("b2", 32))
	edge := func(files ...string) (*node.EdgeServer, *config.Edge) {
		var cfg *config.Edge
		s, _ := startEdge(t, origin.URL, func(c *config.Edge) {
			c.TLS.Listen, c.TLS.CertFile, c.TLS.KeyFile = "127.0.0.1:0", cf, kf
			c.TLS.SessionTicketKeyFiles = files
			cfg = c
		})
		return s, cfg
	}
	a, _ := edge(cur, prev)
	b, bcfg := edge(cur, prev)
	c, _ := edge(other)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	seg := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: farFuture}, smde.Viewer{})
	// get fetches from s on a new connection with the viewer's session
	// cache (one cache key for every edge: the same ServerName) and
	// reports whether the session was resumed.
	get := func(sessions tls.ClientSessionCache, s *node.EdgeServer) bool {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", ClientSessionCache: sessions},
			TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}, DisableKeepAlives: true}
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + s.TLSAddr + "/" + seg + "/vod/a.m4s")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.TLS.DidResume
	}
	// viewer: a viewer's session cache holding a ticket from edge a.
	viewer := func() tls.ClientSessionCache {
		sessions := tls.NewLRUClientSessionCache(1)
		if get(sessions, a) {
			t.Fatal("a first connection resumed")
		}
		return sessions
	}
	if !get(viewer(), b) {
		t.Fatal("a session from edge a did not resume on edge b (same keys)")
	}
	if get(viewer(), c) {
		t.Fatal("a session from edge a resumed on edge c (other keys)")
	}
	rotate := func(next string) {
		t.Helper()
		old, err := os.ReadFile(cur)
		if err != nil {
			t.Fatal(err)
		}
		write(prev, strings.TrimSpace(string(old)))
		write(cur, next)
		restart, err := b.Reload(bcfg)
		if err != nil || len(restart) != 0 {
			t.Fatalf("reload: %v, restart %v", err, restart)
		}
	}
	// a keeps a1; b rotates to c3 with a1 as the previous key.
	fromA := viewer()
	rotate(strings.Repeat("c3", 32))
	if !get(fromA, b) {
		t.Fatal("after a rotation, a ticket under the previous key did not resume")
	}
	// Once more: a1 is gone from b.
	fromA = viewer()
	rotate(strings.Repeat("d4", 32))
	if get(fromA, b) {
		t.Fatal("a ticket under a key b no longer holds resumed")
	}
}

// TestCurvePreferences: tls.curve_preferences is what the edge accepts:
// by default Go's post-quantum hybrid is chosen; with [X25519, P256] a
// client offering only P-256 gets P-256 and one offering only the hybrid
// is refused.
func TestCurvePreferences(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "media") }))
	defer origin.Close()
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := certstest.Write(t, cf, kf, 1)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	seg := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: farFuture}, smde.Viewer{})
	for _, tc := range []struct {
		name   string
		edge   []string
		client []tls.CurveID
		want   tls.CurveID // 0: the handshake fails
	}{
		{"defaults", nil, nil, tls.X25519MLKEM768},
		{"X25519 and P256, a P-256 client", []string{"X25519", "P256"}, []tls.CurveID{tls.CurveP256}, tls.CurveP256},
		{"X25519 and P256, a default client", []string{"X25519", "P256"}, nil, tls.X25519},
		{"X25519 and P256, a hybrid-only client", []string{"X25519", "P256"}, []tls.CurveID{tls.X25519MLKEM768}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := startEdge(t, origin.URL, func(c *config.Edge) {
				c.TLS.Listen, c.TLS.CertFile, c.TLS.KeyFile = "127.0.0.1:0", cf, kf
				c.TLS.CurvePreferences = tc.edge
			})
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, CurvePreferences: tc.client, MinVersion: tls.VersionTLS13},
				TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + s.TLSAddr + "/" + seg + "/vod/a.m4s")
			if tc.want == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("handshake with %v succeeded (%v)", tc.client, resp.TLS.CurveID)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.TLS.CurveID != tc.want {
				t.Fatalf("status %d, key exchange %v, want %v", resp.StatusCode, resp.TLS.CurveID, tc.want)
			}
		})
	}
}
