package origin

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// fakeClock is a settable clock for Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// testEpoch is the live epoch of the tests.
var testEpoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// newTestServer starts an origin on a loopback port, with a fake clock set
// at now unless cfg.Now is set.
func newTestServer(t *testing.T, cfg Config, now time.Time) (*httptest.Server, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: now}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.LiveEpoch.IsZero() {
		cfg.LiveEpoch = testEpoch
	}
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	return srv, clock
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request; header is "Name: value" lines.
func do(t *testing.T, method, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range header {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	// No redirects: the origin answers every path itself.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

func TestMethods(t *testing.T) {
	plain, _ := newTestServer(t, Config{}, testEpoch)
	cors, _ := newTestServer(t, Config{AllowOrigin: "*"}, testEpoch)
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		for _, path := range []string{"/vod/m1/master.m3u8", "/nope", "/"} {
			r := do(t, m, plain.URL+path)
			if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: status %d, Allow %q", m, path, r.status, r.header.Get("Allow"))
			}
		}
	}
	if r := do(t, "OPTIONS", plain.URL+"/vod/m1/master.m3u8"); r.status != http.StatusMethodNotAllowed {
		t.Errorf("OPTIONS without CORS: status %d", r.status)
	}
	r := do(t, "OPTIONS", cors.URL+"/vod/m1/master.m3u8", "Origin: https://player.example", "Access-Control-Request-Method: GET")
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "*" ||
		r.header.Get("Access-Control-Allow-Methods") != "GET, HEAD" {
		t.Errorf("preflight: status %d, headers %v", r.status, r.header)
	}
	for _, path := range []string{"/vod/m1/seg-0-1.m4s", "/nope"} {
		if got := do(t, "GET", cors.URL+path).header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("GET %s with CORS: Access-Control-Allow-Origin %q", path, got)
		}
		if got := do(t, "GET", plain.URL+path).header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("GET %s without CORS: Access-Control-Allow-Origin %q", path, got)
		}
	}
}

func TestTimeHealthIndex(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 890_000_000, time.UTC)
	srv, _ := newTestServer(t, Config{}, now)
	r := do(t, "GET", srv.URL+"/time")
	if r.status != 200 || string(r.body) != "2026-03-04T05:06:07.890Z" || r.header.Get("Cache-Control") != cacheNone {
		t.Errorf("/time: %d %q %v", r.status, r.body, r.header)
	}
	r = do(t, "GET", srv.URL+"/healthz")
	if r.status != 200 || string(r.body) != "ok\n" || r.header.Get("Cache-Control") != cacheNone {
		t.Errorf("/healthz: %d %q", r.status, r.body)
	}
	r = do(t, "GET", srv.URL+"/")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("/: %d %v", r.status, r.header)
	}
	for _, p := range []string{PathVODHLS, PathVODDASH, PathLiveHLS, PathLiveDASH, PathTime, PathHealth} {
		if !bytes.Contains(r.body, []byte(`href="`+p+`"`)) {
			t.Errorf("index lacks a link to %s", p)
		}
		if got := do(t, "GET", srv.URL+p); got.status != 200 {
			t.Errorf("%s: status %d", p, got.status)
		}
	}
}

func TestNew(t *testing.T) {
	broken := mediaMap(t)
	delete(broken, "init-0.m4s")
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"defaults", Config{}, false},
		{"window 3", Config{LiveWindow: 3}, false},
		{"window 1000", Config{LiveWindow: 1000}, false},
		{"window 2", Config{LiveWindow: 2}, true},
		{"window 1001", Config{LiveWindow: 1001}, true},
		{"window negative", Config{LiveWindow: -1}, true},
		{"broken media", Config{Media: broken}, true},
		{"empty media", Config{Media: fstest.MapFS{}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := New(tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New: %v; want error %v", err, tc.wantErr)
			}
			if err == nil && (o.SegmentDuration() != 2*time.Second || o.ClipDuration() != 12*time.Second) {
				t.Errorf("durations %v, %v", o.SegmentDuration(), o.ClipDuration())
			}
		})
	}
}
