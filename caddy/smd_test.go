package smdcaddy

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

const secret = "0123456789abcdef0123456789abcdef"

// fixture is an origin that records the paths it is asked, a key file
// and a revoked file.
type fixture struct {
	origin      *httptest.Server
	mu          sync.Mutex
	paths       []string
	keysFile    string
	revokedFile string
	dir         string
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{dir: t.TempDir()}
	f.origin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.paths = append(f.paths, r.URL.EscapedPath())
		f.mu.Unlock()
		fmt.Fprintf(w, "origin %s", r.URL.Path)
	}))
	t.Cleanup(f.origin.Close)
	f.keysFile = filepath.Join(f.dir, "keys.json")
	os.WriteFile(f.keysFile, []byte(`{"k1": "`+secret+`"}`), 0o600)
	f.revokedFile = filepath.Join(f.dir, "revoked.txt")
	os.WriteFile(f.revokedFile, []byte("Gone1\n"), 0o600)
	return f
}

func sign(t *testing.T, p smde.Policy, v smde.Viewer) string {
	t.Helper()
	key := token.NewKeys(map[string]string{"k1": secret}).Lookup("k1")
	tok, err := (&smde.Signer{Key: key}).Sign(&p, &v)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// caddyConfig is a Caddy configuration (JSON) of one HTTP server on listen
// whose one route runs the handlers (the admin endpoint off, nothing
// saved to disk).
func caddyConfig(listen string, handlers ...any) []byte {
	b, err := json.Marshal(map[string]any{
		"admin": map[string]any{"disabled": true, "config": map[string]any{"persist": false}},
		"apps": map[string]any{"http": map[string]any{"servers": map[string]any{"media": map[string]any{
			"listen":          []string{listen},
			"routes":          []any{map[string]any{"handle": handlers}},
			"automatic_https": map[string]any{"disable": true},
		}}}},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// proxyTo is a reverse_proxy handler to an origin.
func proxyTo(originURL string) map[string]any {
	return map[string]any{"handler": "reverse_proxy", "upstreams": []any{map[string]any{"dial": strings.TrimPrefix(originURL, "http://")}}}
}

// loadFails loads an smd handler with the options and checks that Caddy
// refuses the configuration with an error holding want.
func loadFails(t *testing.T, options map[string]any, want string) {
	t.Helper()
	h := map[string]any{"handler": "smd"}
	for k, v := range options {
		h[k] = v
	}
	err := caddy.Load(caddyConfig(freeAddr(t), h), true)
	if err == nil {
		caddy.Stop()
		t.Fatal("loaded")
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
}

// run loads a Caddy configuration (JSON) in this process until the test
// ends.
func run(t *testing.T, cfg []byte) {
	t.Helper()
	if err := caddy.Load(cfg, true); err != nil {
		t.Fatalf("caddy.Load: %v\n%s", err, cfg)
	}
	t.Cleanup(func() { caddy.Stop() })
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// check runs the cases every configuration must pass, against a Caddy
// serving addr with the smd handler before reverse_proxy to the origin.
func check(t *testing.T, f *fixture, addr string) {
	base := "http://" + addr
	good := sign(t, smde.Policy{Paths: []string{"/vod/m1/"}, Session: true, Expiry: "+1h"}, smde.Viewer{SessionID: "View1"})
	gone := sign(t, smde.Policy{Paths: []string{"/vod/"}, Session: true, Expiry: "+1h"}, smde.Viewer{SessionID: "Gone1"})
	later := sign(t, smde.Policy{Paths: []string{"/vod/"}, Session: true, Expiry: "+1h"}, smde.Viewer{SessionID: "Later1"})
	for _, tc := range []struct {
		name, path string
		status     int
		body       string
	}{
		{"valid", "/" + good + "/vod/m1/seg1.ts", 200, "origin /vod/m1/seg1.ts"},
		{"escaped", "/" + good + "/vod/m1/a%20b.ts", 200, "origin /vod/m1/a b.ts"},
		{"no token", "/vod/m1/seg1.ts", 401, ""},
		{"another title", "/" + good + "/vod/m2/seg1.ts", 401, ""},
		{"revoked", "/" + gone + "/vod/m1/seg1.ts", 403, ""},
		{"above the root", "/" + good + "/vod/m1/../../../etc/passwd", 401, ""},
		{"off route", "/public/poster.jpg", 200, "origin /public/poster.jpg"},
	} {
		code, body := get(t, base+tc.path)
		if code != tc.status || (tc.body != "" && body != tc.body) || (tc.body == "" && strings.Contains(body, "origin")) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, code, body, tc.status, tc.body)
		}
	}
	f.mu.Lock()
	for _, p := range f.paths {
		if strings.Contains(p, "eyJ") {
			t.Errorf("a token reached the origin: %s", p)
		}
	}
	f.mu.Unlock()
	// A session revoked in the file is refused once the file is re-read.
	if code, _ := get(t, base+"/"+later+"/vod/m1/seg1.ts"); code != 200 {
		t.Fatalf("before the revocation: %d", code)
	}
	os.WriteFile(f.revokedFile, []byte("Gone1\nLater1\n"), 0o600)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := get(t, base+"/"+later+"/vod/m1/seg1.ts")
		if code == 403 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked in the file, still %d after 10 s", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestJSONConfig: the module in a JSON configuration, Caddy started from
// its Go API, reverse_proxy to the origin.
func TestJSONConfig(t *testing.T) {
	f := newFixture(t)
	addr := freeAddr(t)
	logFile := filepath.Join(f.dir, "access.log")
	b := caddyConfig(addr, map[string]any{
		"handler": "smd", "keys_file": f.keysFile, "revoked_file": f.revokedFile, "revoked_reload": "50ms",
		"routes":     []any{map[string]any{"prefix": "/vod/"}, map[string]any{"prefix": "/public/", "mode": "off"}},
		"access_log": logFile, "id": "caddy-1",
	}, proxyTo(f.origin.URL))
	run(t, b)
	check(t, f, addr)
	caddy.Stop() // writes out the access log
	lb, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(lb), `"session_id":"View1"`) || !strings.Contains(string(lb), `"edge_id":"caddy-1"`) || strings.Contains(string(lb), "eyJ") {
		t.Errorf("access log:\n%s", lb)
	}
}

// TestCaddyfile: the same through the Caddyfile directive (ordered before
// reverse_proxy without an order line).
func TestCaddyfile(t *testing.T) {
	f := newFixture(t)
	addr := freeAddr(t)
	cf := fmt.Sprintf(`{
	admin off
	persist_config off
}
http://%s {
	reverse_proxy %s
	smd {
		keys_file %s
		revoked_file %s
		revoked_reload 50ms
		route /vod/
		route /public/ off
		status expired 410
	}
}`, addr, strings.TrimPrefix(f.origin.URL, "http://"), f.keysFile, f.revokedFile)
	js, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	if len(warnings) > 0 {
		t.Logf("warnings: %v", warnings)
	}
	run(t, js)
	check(t, f, addr)
}

// TestCaddyfileErrors: bad options are refused with the option named.
func TestCaddyfileErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"keys_file", "wrong argument count"},
		{"keys_file a b", "wrong argument count"},
		{"colour blue", `unknown smd option "colour"`},
		{"route", "route: want"},
		{"status expired teapot", "not a 4xx or 5xx"},
		{"clock_skew soon", "not a duration"},
		{"geo_headers yes", "wrong argument count"},
		{"nats {\n\t\t\tcolour blue\n\t\t}", `unknown smd nats option "colour"`},
		{"nats {\n\t\t\turls\n\t\t}", "wrong argument count"},
		{"nats {\n\t\t\taccess_stream maybe\n\t\t}", "not on or off"},
	} {
		cf := "http://127.0.0.1:0 {\n\tsmd {\n\t\t" + tc.body + "\n\t}\n}"
		_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.body, err, tc.want)
		}
	}
}

// TestProvisionErrors: a configuration that cannot work does not load.
func TestProvisionErrors(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name    string
		handler map[string]any
		want    string
	}{
		{"no keys", map[string]any{}, "keys_file (or nats) is required"},
		{"missing key file", map[string]any{"keys_file": "/nonexistent/keys.json"}, "keys_file"},
		{"missing revoked file", map[string]any{"keys_file": f.keysFile, "revoked_file": "/nonexistent"}, "revoked_file"},
		{"bad route", map[string]any{"keys_file": f.keysFile, "routes": []any{map[string]any{"prefix": "vod"}}}, "prefix"},
		{"bad status", map[string]any{"keys_file": f.keysFile, "status": map[string]int{"teapot": 418}}, "not a refusal reason"},
	} {
		t.Run(tc.name, func(t *testing.T) { loadFails(t, tc.handler, tc.want) })
	}
}

// TestCaddyfileNATS: the nats block becomes the handler's NATS settings.
func TestCaddyfileNATS(t *testing.T) {
	cf := `http://127.0.0.1:0 {
	smd {
		nats {
			urls nats://n1:4222 nats://n2:4222
			creds_file /etc/smd/edge.creds
			master_key_file /etc/smd/master.key
			data_dir /var/lib/smd-caddy
			access_stream off
		}
	}
}`
	js, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `"nats":{"access_stream":false,"creds_file":"/etc/smd/edge.creds","data_dir":"/var/lib/smd-caddy","master_key_file":"/etc/smd/master.key","urls":["nats://n1:4222","nats://n2:4222"]}`
	if !strings.Contains(string(js), want) {
		t.Fatalf("adapted:\n%s\nwant it to hold\n%s", js, want)
	}
}

// TestNATSProvisionErrors: NATS settings that cannot work do not load.
func TestNATSProvisionErrors(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		h    map[string]any
		want string
	}{
		{"no urls", map[string]any{"nats": map[string]any{"data_dir": t.TempDir()}}, "urls is required"},
		{"no data dir", map[string]any{"nats": map[string]any{"urls": []string{"nats://127.0.0.1:1"}}}, "data_dir is required"},
		{"bad url", map[string]any{"nats": map[string]any{"urls": []string{"http://x"}, "data_dir": t.TempDir()}}, "nats.urls[0]"},
		{"files and nats", map[string]any{"keys_file": f.keysFile, "nats": map[string]any{"urls": []string{"nats://127.0.0.1:1"}, "data_dir": t.TempDir()}}, "set together with nats"},
		{"no master key", map[string]any{"nats": map[string]any{"urls": []string{"nats://127.0.0.1:1"}, "data_dir": t.TempDir()}}, "master"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("SMD_MASTER_KEY", "")
			loadFails(t, tc.h, tc.want)
		})
	}
}
