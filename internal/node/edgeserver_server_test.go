package node_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/node"
	"github.com/smd-media/smd/internal/revocation"
	"github.com/smd-media/smd/token/smde"
)

// startEdge runs a whole edge (real cache, key file, revoked file, access
// log, admin listener) on loopback in front of origin.
func startEdge(t testing.TB, origin string, change func(*config.Edge)) (*node.EdgeServer, string) {
	t.Helper()
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.json")
	os.WriteFile(keys, []byte(fmt.Sprintf(`{"k1": %q}`, string(testKey.Secret))), 0o600)
	revoked := filepath.Join(dir, "revoked.txt")
	os.WriteFile(revoked, []byte("Gone1\n"), 0o600)
	cfg := config.DefaultEdge()
	cfg.ID = "edge-it"
	cfg.Listen = "127.0.0.1:0"
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.KeysFile = keys
	cfg.RevokedFile = revoked
	cfg.AccessLog.File = filepath.Join(dir, "access.log")
	cfg.Routes = []config.Route{{Prefix: "/vod/", Origin: origin}}
	if change != nil {
		change(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := node.StartFileEdge(context.Background(), &cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, cfg.AccessLog.File
}

// farFuture is an expiry for tests against the real clock.
const farFuture = "4102444800"

func get(t *testing.T, url string, h http.Header) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// engines are the server engines of the plain HTTP listener: the tests
// that start a whole edge run against each.
var engines = []string{config.EngineLean, config.EngineNetHTTP}

// engineName is an engine as a test name.
func engineName(engine string) string { return strings.ReplaceAll(engine, "/", "-") }

// forEachEngine runs test once per engine, as subtests.
func forEachEngine(t *testing.T, test func(t *testing.T, engine string)) {
	for _, engine := range engines {
		t.Run(engineName(engine), func(t *testing.T) { test(t, engine) })
	}
}

// withEngine sets the engine, then applies change (if any).
func withEngine(engine string, change func(*config.Edge)) func(*config.Edge) {
	return func(c *config.Edge) {
		c.Server.Engine = engine
		if change != nil {
			change(c)
		}
	}
}

func TestServerEndToEnd(t *testing.T) { forEachEngine(t, testServerEndToEnd) }

func testServerEndToEnd(t *testing.T, engine string) {
	var originHits atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originHits.Add(1)
		if strings.Contains(r.URL.Path, "eyJ") {
			t.Errorf("token reached the origin: %s", r.URL.Path)
		}
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "segment %s", r.URL.Path)
	}))
	defer origin.Close()
	s, logFile := startEdge(t, origin.URL, withEngine(engine, nil))
	base := "http://" + s.Addr

	seg := signFor(t, smde.Policy{Paths: []string{"/vod/m1/"}, Session: true, Expiry: farFuture}, smde.Viewer{SessionID: "Live1"})
	url := base + "/" + seg + "/vod/m1/seg1.m4s"
	for i := 0; i < 3; i++ {
		code, body, _ := get(t, url, nil)
		if code != 200 || body != "segment /vod/m1/seg1.m4s" {
			t.Fatalf("GET %d: %d %q", i, code, body)
		}
	}
	if n := originHits.Load(); n != 1 {
		t.Fatalf("origin asked %d times for one object", n)
	}
	// Another viewer's token for the same object shares the cache entry.
	other := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: farFuture}, smde.Viewer{})
	if code, _, _ := get(t, base+"/"+other+"/vod/m1/seg1.m4s", nil); code != 200 || originHits.Load() != 1 {
		t.Fatalf("second token: %d, origin hits %d", code, originHits.Load())
	}
	if code, body, _ := get(t, base+"/vod/m1/seg1.m4s", nil); code != 401 || strings.Contains(body, "missing") {
		t.Fatalf("no token: %d %q", code, body)
	}
	gone := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Session: true, Expiry: farFuture}, smde.Viewer{SessionID: "Gone1"})
	if code, _, _ := get(t, base+"/"+gone+"/vod/m1/seg1.m4s", nil); code != 403 {
		t.Fatalf("revoked session: %d", code)
	}

	// Metrics show what happened.
	_, metrics, _ := get(t, "http://"+s.AdminAddr+"/metrics", nil)
	for _, want := range []string{
		`smd_edge_requests_total{reason="",route="/vod/",status="200",verdict="allow"} 4`,
		`smd_edge_requests_total{reason="missing",route="/vod/",status="401",verdict="deny"} 1`,
		`smd_edge_requests_total{reason="revoked",route="/vod/",status="403",verdict="revoked"} 1`,
		`smd_edge_origin_fetches_total 1`,
		`smd_edge_revoked_sessions 1`,
		`smd_edge_keys 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if code, _, _ := get(t, "http://"+s.AdminAddr+"/readyz", nil); code != 200 {
		t.Errorf("readyz %d", code)
	}
	if code, _, _ := get(t, "http://"+s.AdminAddr+"/debug/pprof/", nil); code != 404 {
		t.Errorf("pprof served while off: %d", code)
	}

	// The access log has one line per request, and no token anywhere.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines++
		if strings.Contains(sc.Text(), "eyJ") {
			t.Errorf("token in access log: %s", sc.Text())
		}
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev["edge_id"] != "edge-it" || ev["origin_path"] != "/vod/m1/seg1.m4s" {
			t.Errorf("event %v", ev)
		}
	}
	if lines != 6 {
		t.Fatalf("%d access log lines, want 6", lines)
	}
}

func TestServerStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name   string
		change func(*config.Edge)
		want   string
	}{
		{"missing key file", func(c *config.Edge) { c.KeysFile = "/nonexistent/keys.json" }, "keys.json"},
		{"bad revoked file", func(c *config.Edge) {
			p := filepath.Join(t.TempDir(), "r.txt")
			os.WriteFile(p, []byte("not-an-id!\n"), 0o600)
			c.RevokedFile = p
		}, "line 1"},
		{"address in use", func(c *config.Edge) { c.Listen = busy.Addr().String() }, "listen"},
		{"missing geo database", func(c *config.Edge) { c.Geo = config.Geo{Source: "mmdb", MMDBFile: "/nonexistent.mmdb"} }, "geo database"},
		{"missing certificate", func(c *config.Edge) {
			c.TLS = config.TLS{Listen: "127.0.0.1:0", CertFile: "/no.pem", KeyFile: "/no.key"}
		}, "tls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			keys := filepath.Join(dir, "keys.json")
			os.WriteFile(keys, []byte(fmt.Sprintf(`{"k1": %q}`, string(testKey.Secret))), 0o600)
			cfg := config.DefaultEdge()
			cfg.Listen, cfg.Admin.Listen, cfg.KeysFile = "127.0.0.1:0", "127.0.0.1:0", keys
			cfg.Routes = []config.Route{{Prefix: "/", Origin: "http://127.0.0.1:9"}}
			tc.change(&cfg)
			s, err := node.StartFileEdge(context.Background(), &cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil {
				s.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

// TestServerTLS: the HTTPS listener speaks HTTP/2 and checks tokens.
func TestServerTLS(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secure segment")
	}))
	defer origin.Close()
	certFile, keyFile, pool := selfSigned(t)
	s, _ := startEdge(t, origin.URL, func(c *config.Edge) {
		c.TLS = config.TLS{Listen: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile}
	})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	seg := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: farFuture}, smde.Viewer{})
	for _, tc := range []struct {
		path string
		want int
	}{{"/" + seg + "/vod/a.m4s", 200}, {"/vod/a.m4s", 401}} {
		resp, err := client.Get("https://" + s.TLSAddr + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want || resp.ProtoMajor != 2 {
			t.Fatalf("%s: %d over %s, want %d over HTTP/2", tc.path, resp.StatusCode, resp.Proto, tc.want)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and returns its files and
// a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "smd test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestStartWithExtras: keys and revocations from the caller, a mounted
// handler ahead of the media pipeline, readiness and counts.
func TestStartWithExtras(t *testing.T) { forEachEngine(t, testStartWithExtras) }

func testStartWithExtras(t *testing.T, engine string) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "media")
	}))
	defer origin.Close()
	cfg := config.DefaultEdge()
	cfg.ID = "edge-x"
	cfg.Server.Engine = engine
	cfg.Listen = "127.0.0.1:0"
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.NATS.URLs = []string{"nats://127.0.0.1:1"} // keys come from the caller
	cfg.Routes = []config.Route{{Prefix: "/", Origin: origin.URL}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var ready atomic.Bool
	set := revocation.NewSet("Gone1")
	s, err := node.StartEdgeServer(context.Background(), &cfg, slog.New(slog.DiscardHandler), node.EdgeExtras{
		Keys:     testKeys,
		KeyCount: func() int { return len(testKeys) },
		Revoked:  set,
		Mount: map[string]http.Handler{"/v1/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "api "+r.URL.Path)
		})},
		Ready: func() error {
			if !ready.Load() {
				return fmt.Errorf("no key ring yet")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.Addr
	if code, body, _ := get(t, base+"/v1/assets", nil); code != 200 || body != "api /v1/assets" {
		t.Fatalf("mounted: %d %q", code, body)
	}
	ok := signFor(t, smde.Policy{Paths: []string{"/"}, Expiry: farFuture}, smde.Viewer{})
	if code, body, _ := get(t, base+"/"+ok+"/v1x/a.ts", nil); code != 200 || body != "media" {
		t.Fatalf("media: %d %q", code, body)
	}
	gone := signFor(t, smde.Policy{Paths: []string{"/"}, Session: true, Expiry: farFuture}, smde.Viewer{SessionID: "Gone1"})
	if code, _, _ := get(t, base+"/"+gone+"/a.ts", nil); code != 403 {
		t.Fatalf("revoked: %d", code)
	}
	if code, _, _ := get(t, base+"/a.ts", nil); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	if req, rej := s.Edge.Counts(); req != 3 || rej != 2 {
		t.Fatalf("counts: %d requests, %d rejected; want 3 and 2 (the mounted handler is not counted)", req, rej)
	}
	if code, body, _ := get(t, "http://"+s.AdminAddr+"/readyz", nil); code != 503 || !strings.Contains(body, "no key ring yet") {
		t.Fatalf("readyz before ready: %d %q", code, body)
	}
	ready.Store(true)
	if code, _, _ := get(t, "http://"+s.AdminAddr+"/readyz", nil); code != 200 {
		t.Fatalf("readyz: %d", code)
	}
	_, metrics, _ := get(t, "http://"+s.AdminAddr+"/metrics", nil)
	for _, want := range []string{"smd_edge_keys 1", "smd_edge_revoked_sessions 1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestFallbackMount: a handler mounted at "/" serves what no route
// claims (a website), never a path under a route, with or without a
// token in front, and takes POST bodies on both engines; a path that does
// not normalize stays the edge's (bad_path).
func TestFallbackMount(t *testing.T) { forEachEngine(t, testFallbackMount) }

func testFallbackMount(t *testing.T, engine string) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "media")
	}))
	defer origin.Close()
	cfg := config.DefaultEdge()
	cfg.Server.Engine = engine
	cfg.Listen = "127.0.0.1:0"
	cfg.Admin.Listen = ""
	cfg.NATS.URLs = []string{"nats://127.0.0.1:1"}
	cfg.Routes = []config.Route{{Prefix: "/vod/", Origin: origin.URL}, {Prefix: "/time", Origin: origin.URL, Mode: config.ModeOff}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	site := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "site %s %s %s", r.Method, r.URL.Path, b)
	})
	s, err := node.StartEdgeServer(context.Background(), &cfg, slog.New(slog.DiscardHandler), node.EdgeExtras{
		Keys: testKeys, Revoked: revocation.NewSet(),
		Mount: map[string]http.Handler{"/": site, "/v1/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "api") })},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := "http://" + s.Addr
	ok := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: farFuture}, smde.Viewer{})
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/", 200, "site GET / "},
		{"/dashboard", 200, "site GET /dashboard "},
		{"/static/js/a.js", 200, "site GET /static/js/a.js "},
		{"/v1/keys", 200, "api"},
		{"/time", 200, "media"},
		{"/vod/m1/a.ts", 401, ""},                                           // a route's: the token check
		{"/" + ok + "/vod/m1/a.ts", 200, "media"},                           // with a token
		{"/" + ok + "/other/a.ts", 200, "site GET /" + ok + "/other/a.ts "}, // no route under the token
		{"/vod/../vod/m1/a.ts", 401, ""},                                    // normalized first: still the route's
	} {
		code, body, _ := get(t, base+tc.path, nil)
		if code != tc.code || (tc.body != "" && body != tc.body) {
			t.Errorf("%s: %d %q, want %d %q", tc.path, code, body, tc.code, tc.body)
		}
	}
	resp, err := http.Post(base+"/demo/api/x", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `site POST /demo/api/x {"a":1}` {
		t.Errorf("POST to the site: %d %q", resp.StatusCode, b)
	}
}

// TestServerGeoMMDB: a token bound to a country, checked against the
// location the edge reads from a MaxMind database for the viewer's address
// (here from X-Forwarded-For, the peer being a trusted proxy).
func TestServerGeoMMDB(t *testing.T) { forEachEngine(t, testServerGeoMMDB) }

func testServerGeoMMDB(t *testing.T, engine string) {
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", RecordSize: 24, IPVersion: 6, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, country := range map[string]string{"198.51.100.0/24": "FR", "203.0.113.0/24": "DE"} {
		_, n, _ := net.ParseCIDR(cidr)
		if err := w.Insert(n, mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(country)}}); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(t.TempDir(), "geo.mmdb")
	f, err := os.Create(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	f.Close()

	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "seg") }))
	defer origin.Close()
	s, _ := startEdge(t, origin.URL, withEngine(engine, func(c *config.Edge) {
		c.Geo = config.Geo{Source: "mmdb", MMDBFile: db}
		c.TrustedProxies = []string{"127.0.0.1/32"}
	}))
	tok := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Country: true, Expiry: farFuture}, smde.Viewer{Country: "FR"})
	url := "http://" + s.Addr + "/" + tok + "/vod/a.ts"
	tests := []struct {
		xff  string
		want int
	}{
		{"198.51.100.7", 200}, // FR, as bound
		{"203.0.113.9", 401},  // DE
		{"192.0.2.1", 401},    // not in the database: no fallback in the token
	}
	for _, tc := range tests {
		if code, _, _ := get(t, url, http.Header{"X-Forwarded-For": {tc.xff}}); code != tc.want {
			t.Errorf("viewer %s: %d, want %d", tc.xff, code, tc.want)
		}
	}
}

// TestServerMissStreams: cache misses through a whole edge, per engine: a
// body of unknown length reaches the viewer whole (chunked when it has to
// wait for the origin), a
// body the origin cuts short aborts the viewer's connection, and a viewer
// that leaves while the origin has not answered cancels the fetch.
func TestServerMissStreams(t *testing.T) { forEachEngine(t, testServerMissStreams) }

func testServerMissStreams(t *testing.T, engine string) {
	originGone := make(chan struct{})
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/vod/stream.ts":
			for i := range 3 {
				fmt.Fprintf(w, "part %d;", i)
				w.(http.Flusher).Flush()
			}
		case "/vod/cut.ts":
			w.Header().Set("Content-Length", "1000")
			w.Write(make([]byte, 500))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		case "/vod/hang.ts":
			<-r.Context().Done()
			close(originGone)
		}
	}))
	defer origin.Close()
	s, _ := startEdge(t, origin.URL, withEngine(engine, nil))
	tok := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: farFuture}, smde.Viewer{})
	base := "http://" + s.Addr + "/" + tok

	resp, err := http.Get(base + "/vod/stream.ts")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "part 0;part 1;part 2;" {
		t.Fatalf("streamed miss: %q, %v", body, err)
	}

	resp, err = http.Get(base + "/vod/cut.ts")
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusBadGateway {
		// 502 when the origin failed before the viewer was sent
		// anything; else the viewer's connection is aborted.
		t.Fatalf("a body cut by the origin read as whole: %d, %d bytes", resp.StatusCode, len(body))
	}

	nc, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(nc, "GET /%s/vod/hang.ts HTTP/1.1\r\nHost: edge\r\n\r\n", tok)
	// Once the fetch started, the viewer leaves; so does the fetch.
	for node.CacheStats(s).OriginFetches < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	nc.Close()
	select {
	case <-originGone:
	case <-time.After(10 * time.Second):
		t.Fatal("the origin fetch went on after its only viewer left")
	}
}

// TestBehindCDN: an edge as the origin shield of a CDN (CloudFront,
// Cloudflare, Akamai) takes the viewer's address from the CDN's own
// header (client_ip_header) and the country from its geo header, from the
// CDN's addresses only: a token bound to the viewer's address and country
// plays through the CDN, and not for another viewer, whatever
// X-Forwarded-For says.
func TestBehindCDN(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "media") }))
	defer origin.Close()
	tok := signFor(t, smde.Policy{IP: true, Country: true, Paths: []string{"/vod/"}, Expiry: farFuture},
		smde.Viewer{IP: "203.0.113.9", Country: "FR"})
	for _, cdn := range []struct {
		name, ipHeader string
		viewer         func(ip, country string) http.Header
	}{
		{"CloudFront", "CloudFront-Viewer-Address", func(ip, c string) http.Header {
			return http.Header{"Cloudfront-Viewer-Address": {ip + ":443"}, "Cloudfront-Viewer-Country": {c}}
		}},
		{"Cloudflare", "CF-Connecting-IP", func(ip, c string) http.Header {
			return http.Header{"Cf-Connecting-Ip": {ip}, "Cf-Ipcountry": {c}}
		}},
		{"Akamai", "True-Client-IP", func(ip, c string) http.Header {
			return http.Header{"True-Client-Ip": {ip}, "X-Akamai-Edgescape": {"georegion=1,country_code=" + c + ",region_code=IDF,city=PARIS"}}
		}},
	} {
		t.Run(cdn.name, func(t *testing.T) {
			for _, trusted := range []bool{true, false} {
				cfg := config.DefaultEdge()
				cfg.Listen = "127.0.0.1:0"
				cfg.Admin.Listen = ""
				cfg.NATS.URLs = []string{"nats://127.0.0.1:1"}
				cfg.Routes = []config.Route{{Prefix: "/vod/", Origin: origin.URL}}
				cfg.TrustedProxies = []string{"192.0.2.0/24"} // not this machine
				if trusted {
					cfg.TrustedProxies = []string{"127.0.0.1/32"} // the CDN
				}
				cfg.ClientIPHeader = cdn.ipHeader
				cfg.Geo.Source = "headers"
				if err := cfg.Validate(); err != nil {
					t.Fatal(err)
				}
				s, err := node.StartEdgeServer(context.Background(), &cfg, slog.New(slog.DiscardHandler), node.EdgeExtras{Keys: testKeys, Revoked: revocation.NewSet()})
				if err != nil {
					t.Fatal(err)
				}
				u := "http://" + s.Addr + "/" + tok + "/vod/m1/a.ts"
				viewer := cdn.viewer("203.0.113.9", "FR")
				other := cdn.viewer("198.51.100.7", "FR")
				other.Set("X-Forwarded-For", "203.0.113.9") // a walk would say the viewer's
				abroad := cdn.viewer("203.0.113.9", "DE")
				for _, tc := range []struct {
					name string
					h    http.Header
					want int
				}{
					{"the viewer", viewer, 200},
					{"another viewer", other, 401},
					{"the viewer's address, another country", abroad, 401},
				} {
					want := tc.want
					if !trusted {
						want = 401 // the headers of an untrusted peer are not believed
					}
					if code, _, _ := get(t, u, tc.h); code != want {
						t.Errorf("trusted %v, %s: %d, want %d", trusted, tc.name, code, want)
					}
				}
				s.Close()
			}
		})
	}
}
