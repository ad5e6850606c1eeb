package edge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/cache"
	"github.com/smd-media/smd/internal/revocation"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// fetcherFunc serves objects in pipeline tests, where the cache is not the
// subject (the cache has its own tests, and the server test uses it).
type fetcherFunc func(w http.ResponseWriter, r *cache.Request) cache.Result

func (f fetcherFunc) Serve(_ context.Context, w http.ResponseWriter, r *cache.Request) cache.Result {
	return f(w, r)
}

// events collects access events, expanded (request id and viewer
// address as strings).
type events struct {
	mu  sync.Mutex
	all []accesslog.Event
}

func (e *events) Log(ev *accesslog.Event) {
	c := *ev
	c.Expand()
	e.mu.Lock()
	e.all = append(e.all, c)
	e.mu.Unlock()
}

func (e *events) last(t *testing.T) accesslog.Event {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.all) == 0 {
		t.Fatal("no access event")
	}
	return e.all[len(e.all)-1]
}

// farFuture is an expiry for tests against the real clock.
const farFuture = "4102444800"

var (
	testNow  = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	testKey  = &token.Key{ID: "k1", Secret: []byte(strings.Repeat("9a", 64))}
	testKeys = token.Keys{"k1": testKey}
)

func signFor(t *testing.T, p smde.Policy, v smde.Viewer) string {
	t.Helper()
	if p.Expiry == "" {
		p.Expiry = "+1h"
	}
	s := &smde.Signer{Key: testKey, Now: func() time.Time { return testNow }}
	tok, err := s.Sign(&p, &v)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

type harness struct {
	edge    *Edge
	events  *events
	fetched []*cache.Request
	mu      sync.Mutex
}

func newHarness(t *testing.T, change func(*Config), revoked ...string) *harness {
	t.Helper()
	cfg := Config{ID: "edge-test", CORS: CORS{MaxAge: time.Hour}}
	cfg.Routes = []Route{
		{Prefix: "/vod/", Origin: "http://origin.invalid"},
		{Prefix: "/live/", Origin: "http://live.invalid/base/", Mode: ModeLog},
		{Prefix: "/public/", Origin: "http://origin.invalid", Mode: ModeOff},
	}
	cfg.CORS.AllowedOrigins = []string{"https://portal.example.com"}
	if change != nil {
		change(&cfg)
	}
	h := &harness{events: &events{}}
	e, err := New(cfg, Deps{
		Keys:    testKeys,
		Revoked: revocation.NewSet(revoked...),
		Fetcher: fetcherFunc(func(w http.ResponseWriter, r *cache.Request) cache.Result {
			if strings.Contains(r.URL, "panic") {
				panic("fetcher exploded")
			}
			h.mu.Lock()
			c := *r // the edge recycles r after the call
			h.fetched = append(h.fetched, &c)
			h.mu.Unlock()
			w.Header().Set("Content-Type", "video/mp4")
			w.WriteHeader(http.StatusOK)
			if r.Method != http.MethodHead {
				w.Write([]byte("object"))
			}
			return cache.Result{Status: 200, CacheStatus: "HIT", BodyBytes: 6}
		}),
		Access: h.events,
		Now:    func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.edge = e
	return h
}

func (h *harness) do(method, target string, header http.Header, remote string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	if remote != "" {
		r.RemoteAddr = remote
	}
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.edge.ServeHTTP(w, r)
	return w
}

func TestPipeline(t *testing.T) {
	vod := signFor(t, smde.Policy{Paths: []string{"/vod/m1/"}, IP: true, Session: true}, smde.Viewer{IP: "192.0.2.10", SessionID: "S1"})
	expired := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: "1700000000"}, smde.Viewer{})
	revoked := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Session: true}, smde.Viewer{SessionID: "Gone1"})
	live := signFor(t, smde.Policy{Paths: []string{"/live/"}}, smde.Viewer{})
	const viewer = "192.0.2.10:40000"

	tests := []struct {
		name       string
		method     string
		target     string
		header     http.Header
		remote     string
		change     func(*Config)
		wantStatus int
		wantURL    string // origin URL fetched, "" for none
		verdict    string
		reason     string
	}{
		{name: "valid token", target: "/" + vod + "/vod/m1/index.m3u8", wantStatus: 200, wantURL: "http://origin.invalid/vod/m1/index.m3u8", verdict: "allow"},
		{name: "HEAD", method: "HEAD", target: "/" + vod + "/vod/m1/a.ts", wantStatus: 200, wantURL: "http://origin.invalid/vod/m1/a.ts", verdict: "allow"},
		{name: "query not forwarded", target: "/" + vod + "/vod/m1/a.ts?x=1", wantStatus: 200, wantURL: "http://origin.invalid/vod/m1/a.ts", verdict: "allow"},
		{name: "another viewer", target: "/" + vod + "/vod/m1/index.m3u8", remote: "198.51.100.1:1", wantStatus: 401, verdict: "deny", reason: "binding_mismatch"},
		{name: "no token", target: "/vod/m1/index.m3u8", wantStatus: 401, verdict: "deny", reason: "missing"},
		{name: "other title", target: "/" + vod + "/vod/m2/index.m3u8", wantStatus: 401, verdict: "deny", reason: "path_not_allowed"},
		{name: "traversal", target: "/" + vod + "/vod/m1/%2e%2e/m2/index.m3u8", wantStatus: 401, verdict: "deny", reason: "path_not_allowed"},
		{name: "above root", target: "/" + vod + "/../../etc/passwd", wantStatus: 401, verdict: "rejected", reason: "bad_path"},
		{name: "expired", target: "/" + expired + "/vod/m1/a.ts", wantStatus: 401, verdict: "deny", reason: "expired"},
		{name: "expired, status configured", target: "/" + expired + "/vod/m1/a.ts", change: func(c *Config) { c.Status = map[string]int{"expired": 410} },
			wantStatus: 410, verdict: "deny", reason: "expired"},
		{name: "revoked", target: "/" + revoked + "/vod/m1/a.ts", wantStatus: 403, verdict: "revoked", reason: "revoked"},
		{name: "revoked, status configured", target: "/" + revoked + "/vod/m1/a.ts", change: func(c *Config) { c.Status = map[string]int{"revoked": 410} },
			wantStatus: 410, verdict: "revoked", reason: "revoked"},
		{name: "POST", method: "POST", target: "/" + vod + "/vod/m1/a.ts", wantStatus: 405, verdict: "rejected", reason: "method_not_allowed"},
		{name: "no route", target: "/" + vod + "/other/a.ts", wantStatus: 404, verdict: "rejected", reason: "no_route"},
		{name: "log mode serves a bad token", target: "/" + vod + "/live/ch1/index.m3u8", wantStatus: 200, wantURL: "http://live.invalid/base/live/ch1/index.m3u8", verdict: "log_deny", reason: "path_not_allowed"},
		{name: "log mode serves no token", target: "/live/ch1/index.m3u8", wantStatus: 200, wantURL: "http://live.invalid/base/live/ch1/index.m3u8", verdict: "log_deny", reason: "missing"},
		{name: "log mode, good token", target: "/" + live + "/live/ch1/index.m3u8", wantStatus: 200, wantURL: "http://live.invalid/base/live/ch1/index.m3u8", verdict: "allow"},
		{name: "off mode", target: "/public/logo.png", wantStatus: 200, wantURL: "http://origin.invalid/public/logo.png", verdict: "unchecked"},
		{name: "off mode strips a token", target: "/" + live + "/public/logo.png", wantStatus: 200, wantURL: "http://origin.invalid/public/logo.png", verdict: "unchecked"},
		{name: "off mode keeps a dotted directory", target: "/public/v1.2/logo.png", wantStatus: 200, wantURL: "http://origin.invalid/public/v1.2/logo.png", verdict: "unchecked"},
		{name: "a dotted first segment is not a token", target: "/v1.2.3/public/logo.png", wantStatus: 404, verdict: "rejected", reason: "no_route"},
		{name: "fetcher panic", target: "/public/panic", wantStatus: 500, verdict: "rejected", reason: "internal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.change, "Gone1")
			method := tc.method
			if method == "" {
				method = "GET"
			}
			remote := tc.remote
			if remote == "" {
				remote = viewer
			}
			w := h.do(method, tc.target, tc.header, remote)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %q", w.Code, tc.wantStatus, w.Body.String())
			}
			switch {
			case tc.wantURL == "" && len(h.fetched) > 0:
				t.Fatalf("fetched %s", h.fetched[0].URL)
			case tc.wantURL != "" && (len(h.fetched) != 1 || h.fetched[0].URL != tc.wantURL || h.fetched[0].Key != tc.wantURL):
				t.Fatalf("fetched %+v, want %s", h.fetched, tc.wantURL)
			}
			ev := h.events.last(t)
			if ev.Verdict != tc.verdict || ev.Reason != tc.reason || ev.Status != tc.wantStatus {
				t.Fatalf("event verdict %q reason %q status %d, want %q %q %d", ev.Verdict, ev.Reason, ev.Status, tc.verdict, tc.reason, tc.wantStatus)
			}
			if tc.wantStatus >= 400 {
				body := w.Body.String()
				if tc.reason != "" && strings.Contains(body, tc.reason) {
					t.Errorf("reason %q leaked into the body %q", tc.reason, body)
				}
				if w.Header().Get("Cache-Control") != "no-store" {
					t.Error("error response cacheable")
				}
			}
			// No token, in any form, in the access event.
			for _, f := range []string{ev.OriginPath, ev.Route, ev.Reason, ev.SessionID, ev.KeyID, ev.RequestID} {
				if strings.Contains(f, "eyJ") {
					t.Errorf("token in access event field %q", f)
				}
			}
		})
	}
}

func TestAccessEventFields(t *testing.T) {
	h := newHarness(t, nil)
	seg := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Session: true}, smde.Viewer{SessionID: "Sess9"})
	h.do("GET", "/"+seg+"/vod/m1/a.ts", http.Header{"User-Agent": {"P/1"}, "Referer": {"https://portal.example.com/"}}, "192.0.2.10:1")
	ev := h.events.last(t)
	h.do("GET", "/"+seg+"/vod/m1/a.ts", nil, "192.0.2.10:1")
	if id := h.events.last(t).RequestID; ev.RequestID == "" || id == ev.RequestID {
		t.Errorf("request ids %q then %q: want two different ids", ev.RequestID, id)
	}
	want := accesslog.Event{EdgeID: "edge-test", SessionID: "Sess9", KeyID: "k1", Verdict: "allow", Status: 200, ViewerIP: "192.0.2.10",
		UserAgent: "P/1", Referer: "https://portal.example.com/", Method: "GET", Route: "/vod/", OriginPath: "/vod/m1/a.ts", BytesSent: 6, CacheStatus: "HIT"}
	ev.Time, ev.RequestID, ev.Duration = time.Time{}, "", 0
	if ev != want {
		t.Fatalf("event\n%+v\nwant\n%+v", ev, want)
	}
}

// TestRecycledExchangeStartsClean: exchanges are recycled between
// requests; nothing of a request with a token (session, key, origin path,
// reason) shows in the event of the next request, which has none.
func TestRecycledExchangeStartsClean(t *testing.T) {
	h := newHarness(t, nil)
	seg := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Session: true}, smde.Viewer{SessionID: "Sess9"})
	for range 50 {
		h.do("GET", "/"+seg+"/vod/m1/a.ts", http.Header{"User-Agent": {"P/1"}}, "192.0.2.10:1")
		if ev := h.events.last(t); ev.SessionID != "Sess9" {
			t.Fatalf("with a token: %+v", ev)
		}
		h.do("GET", "/public/logo.png", nil, "198.51.100.1:1")
		ev := h.events.last(t)
		if ev.SessionID != "" || ev.KeyID != "" || ev.UserAgent != "" || ev.Reason != "" || ev.OriginPath != "/public/logo.png" ||
			ev.ViewerIP != "198.51.100.1" || ev.Verdict != "unchecked" {
			t.Fatalf("after a request with a token: %+v", ev)
		}
	}
}

func TestCORS(t *testing.T) {
	h := newHarness(t, nil)
	pre := http.Header{"Origin": {"https://portal.example.com"}, "Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"range"}}
	w := h.do("OPTIONS", "/anything/at/all", pre, "")
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "https://portal.example.com" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Range") {
		t.Fatalf("preflight: %d %v", w.Code, w.Header())
	}
	pre.Set("Origin", "https://evil.example")
	if w := h.do("OPTIONS", "/x", pre, ""); w.Code != 405 || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another site: %d %v", w.Code, w.Header())
	}
	w = h.do("GET", "/public/x", http.Header{"Origin": {"https://portal.example.com"}}, "")
	if w.Header().Get("Access-Control-Allow-Origin") != "https://portal.example.com" || w.Header().Get("Vary") != "Origin" {
		t.Fatalf("GET: %v", w.Header())
	}
	// Errors carry CORS headers too, so a player can tell 401 from a network error.
	w = h.do("GET", "/vod/x", http.Header{"Origin": {"https://portal.example.com"}}, "")
	if w.Code != 401 || w.Header().Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("401: %d %v", w.Code, w.Header())
	}
}

// TestTruncatedOriginAborts: a body cut short by the origin aborts the
// viewer's connection (after the access event is recorded).
func TestTruncatedOriginAborts(t *testing.T) {
	cfg := Config{Routes: []Route{{Prefix: "/", Origin: "http://origin.invalid", Mode: ModeOff}}}
	ev := &events{}
	e, err := New(cfg, Deps{
		Fetcher: fetcherFunc(func(w http.ResponseWriter, r *cache.Request) cache.Result {
			w.WriteHeader(200)
			w.Write([]byte("half"))
			return cache.Result{Status: 200, CacheStatus: "MISS", Err: cache.ErrTruncated}
		}),
		Access: ev,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", p)
		}
		if got := ev.last(t); got.Reason != "origin_truncated" {
			t.Fatalf("event reason %q", got.Reason)
		}
	}()
	e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/a.ts", nil))
	t.Fatal("ServeHTTP returned normally")
}
