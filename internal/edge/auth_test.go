package edge

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/revocation"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// TestAuthMode: the original request comes from the proxy's headers, the
// checks are the pipeline's, the answer is the verdict with what was
// established (or the reason), and each request is one access event.
func TestAuthMode(t *testing.T) {
	ev := &events{}
	e, err := New(Config{
		ID:             "auth-1",
		Auth:           true,
		TrustedProxies: []string{"10.0.0.0/8"},
		Routes:         []Route{{Prefix: "/vod/"}, {Prefix: "/trial/", Mode: ModeLog}, {Prefix: "/public/", Mode: ModeOff}},
		Status:         map[string]int{"expired": 403},
	}, Deps{Keys: testKeys, Revoked: revocation.NewSet("Gone1"), Access: ev, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	vod := signFor(t, smde.Policy{Paths: []string{"/vod/m1/"}, IP: true, Session: true}, smde.Viewer{IP: "192.0.2.10", SessionID: "S1"})
	gone := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Session: true}, smde.Viewer{SessionID: "Gone1"})
	expired := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: "1700000000"}, smde.Viewer{})
	const proxy = "10.0.0.5:50000"
	tests := []struct {
		name    string
		remote  string
		header  http.Header
		status  int
		want    map[string]string // response headers
		event   accesslog.Event   // the fields checked
		noEvent bool
	}{
		{name: "valid, nginx headers", remote: proxy,
			header: http.Header{"X-Original-Uri": {"/" + vod + "/vod/m1/seg%201.ts?x=1"}, "X-Forwarded-For": {"192.0.2.10"}},
			status: 200, want: map[string]string{HeaderOriginPath: "/vod/m1/seg%201.ts", HeaderSession: "S1", HeaderKeyID: "k1", HeaderVerdict: "allow"},
			event: accesslog.Event{Verdict: "allow", Status: 200, SessionID: "S1", ViewerIP: "192.0.2.10", OriginPath: "/vod/m1/seg%201.ts", Method: "GET", Route: "/vod/"}},
		{name: "valid, Caddy and Traefik headers", remote: proxy,
			header: http.Header{"X-Forwarded-Uri": {"/" + vod + "/vod/m1/a.ts"}, "X-Forwarded-Method": {"HEAD"}, "X-Forwarded-For": {"192.0.2.10"}, "X-Forwarded-Host": {"cdn.example.com"}},
			status: 200, want: map[string]string{HeaderSession: "S1"},
			event: accesslog.Event{Verdict: "allow", Method: "HEAD"}},
		{name: "X-Real-IP from a trusted proxy", remote: proxy,
			header: http.Header{"X-Original-Uri": {"/" + vod + "/vod/m1/a.ts"}, "X-Real-Ip": {"192.0.2.10"}},
			status: 200, want: map[string]string{HeaderSession: "S1"}, event: accesslog.Event{ViewerIP: "192.0.2.10"}},
		{name: "X-Real-IP from an untrusted peer is ignored", remote: "192.0.2.99:1",
			header: http.Header{"X-Original-Uri": {"/" + vod + "/vod/m1/a.ts"}, "X-Real-Ip": {"192.0.2.10"}},
			status: 401, event: accesslog.Event{Reason: "binding_mismatch", ViewerIP: "192.0.2.99"}},
		{name: "forwarded address from an untrusted peer is ignored", remote: "192.0.2.99:1",
			header: http.Header{"X-Original-Uri": {"/" + vod + "/vod/m1/a.ts"}, "X-Forwarded-For": {"192.0.2.10"}},
			status: 401, want: map[string]string{HeaderVerdict: "", HeaderSession: ""},
			event: accesslog.Event{Verdict: "deny", Reason: "binding_mismatch", ViewerIP: "192.0.2.99"}},
		{name: "no token", remote: proxy, header: http.Header{"X-Original-Uri": {"/vod/m1/a.ts"}},
			status: 401, event: accesslog.Event{Reason: "missing"}},
		{name: "expired, status configured", remote: proxy, header: http.Header{"X-Original-Uri": {"/" + expired + "/vod/m1/a.ts"}},
			status: 403, event: accesslog.Event{Reason: "expired"}},
		{name: "revoked", remote: proxy, header: http.Header{"X-Original-Uri": {"/" + gone + "/vod/m1/a.ts"}},
			status: 403, want: map[string]string{HeaderVerdict: ""},
			event: accesslog.Event{Verdict: "revoked", Reason: "revoked", Status: 403, SessionID: "Gone1"}},
		{name: "log route passes", remote: proxy, header: http.Header{"X-Original-Uri": {"/trial/a.ts"}},
			status: 200, want: map[string]string{HeaderVerdict: "log_deny", HeaderOriginPath: "/trial/a.ts"}},
		{name: "off route", remote: proxy, header: http.Header{"X-Original-Uri": {"/public/a.jpg"}},
			status: 200, want: map[string]string{HeaderVerdict: "unchecked"}},
		{name: "escape above the root", remote: proxy, header: http.Header{"X-Original-Uri": {"/" + vod + "/vod/../../etc/passwd"}},
			status: 401, want: map[string]string{HeaderOriginPath: ""}, event: accesslog.Event{Reason: "bad_path"}},
		{name: "not a path", remote: proxy, header: http.Header{"X-Original-Uri": {"http://evil.example/vod/a.ts"}},
			status: 400, event: accesslog.Event{Reason: "auth_no_uri"}},
		{name: "no original URI", remote: proxy, header: http.Header{},
			status: 400, event: accesslog.Event{Reason: "auth_no_uri"}},
		{name: "original method POST", remote: proxy, header: http.Header{"X-Original-Uri": {"/" + vod + "/vod/m1/a.ts"}, "X-Original-Method": {"POST"}},
			status: 405, event: accesslog.Event{Reason: "method_not_allowed"}},
		{name: "no route", remote: proxy, header: http.Header{"X-Original-Uri": {"/other/a.ts"}},
			status: 404, event: accesslog.Event{Reason: "no_route"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/auth", nil)
			r.RemoteAddr = tc.remote
			r.Header = tc.header
			w := httptest.NewRecorder()
			e.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (reason %q)", w.Code, tc.status, ev.last(t).Reason)
			}
			for k, v := range tc.want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if w.Body.Len() != 0 || w.Code != 200 && (w.Header().Get(HeaderVerdict) != "" || w.Header().Get(HeaderSession) != "") {
				t.Errorf("the answer says more than the verdict: %v %q", w.Header(), w.Body)
			}
			got := ev.last(t)
			want := tc.event
			if want.Verdict != "" && got.Verdict != want.Verdict || want.Reason != "" && got.Reason != want.Reason ||
				want.Status != 0 && got.Status != want.Status || want.SessionID != "" && got.SessionID != want.SessionID ||
				want.ViewerIP != "" && got.ViewerIP != want.ViewerIP || want.OriginPath != "" && got.OriginPath != want.OriginPath ||
				want.Method != "" && got.Method != want.Method || want.Route != "" && got.Route != want.Route {
				t.Errorf("access event %+v, want %+v", got, want)
			}
			if got.EdgeID != "auth-1" || got.BytesSent != 0 {
				t.Errorf("access event edge %q bytes %d", got.EdgeID, got.BytesSent)
			}
		})
	}
	if n := len(ev.all); n != len(tests) {
		t.Fatalf("%d access events for %d requests", n, len(tests))
	}
}

// TestAuthPathPrefix: Envoy's ext_authz HTTP service sends the original
// method and path, with its path_prefix in front, and no URI header.
func TestAuthPathPrefix(t *testing.T) {
	e, err := New(Config{Auth: true, AuthPathPrefix: "/.smd-auth", Routes: []Route{{Prefix: "/vod/"}}},
		Deps{Keys: testKeys, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	tok := signFor(t, smde.Policy{Paths: []string{"/vod/m1/"}, Session: true}, smde.Viewer{SessionID: "S1"})
	for _, tc := range []struct {
		method, target string
		header         http.Header
		status         int
		path           string
	}{
		{"GET", "/.smd-auth/" + tok + "/vod/m1/a.ts?x=1", nil, 200, "/vod/m1/a.ts"},
		{"HEAD", "/.smd-auth/" + tok + "/vod/m1/a.ts", nil, 200, "/vod/m1/a.ts"},
		{"POST", "/.smd-auth/" + tok + "/vod/m1/a.ts", nil, 405, ""},
		{"GET", "/.smd-auth/vod/m1/a.ts", nil, 401, ""},
		{"GET", "/.smd-authx/" + tok + "/vod/m1/a.ts", nil, 400, ""},
		{"GET", "/.smd-auth", nil, 400, ""},
		// A header wins over the path.
		{"GET", "/.smd-auth/vod/m1/a.ts", http.Header{"X-Original-Uri": {"/" + tok + "/vod/m1/b.ts"}}, 200, "/vod/m1/b.ts"},
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		for k, v := range tc.header {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		if w.Code != tc.status || w.Header().Get(HeaderOriginPath) != tc.path {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.target, w.Code, w.Header().Get(HeaderOriginPath), tc.status, tc.path)
		}
	}
	for _, bad := range []string{"smd-auth", "/.smd-auth/", "/a/../b"} {
		if _, err := New(Config{Auth: true, AuthPathPrefix: bad}, Deps{}); err == nil {
			t.Errorf("auth path prefix %q accepted", bad)
		}
	}
}

// TestAuthHeaderNamesCanonical: the auth headers are read and written in
// the header map directly, so their names must be canonical.
func TestAuthHeaderNamesCanonical(t *testing.T) {
	names := append([]string{HeaderOriginPath, HeaderSession, HeaderKeyID, HeaderVerdict}, authURIHeaders...)
	for _, n := range append(names, authMethodHeaders...) {
		if c := http.CanonicalHeaderKey(n); c != n {
			t.Errorf("%q is not canonical (%q)", n, c)
		}
	}
}

// FuzzAuthRequest: whatever a proxy (or someone reaching the auth
// listener) puts in the headers that describe the original request, the
// answer is a verdict (200 with an origin path that is normalized and
// under a route, or a refusal without a body), never a panic.
func FuzzAuthRequest(f *testing.F) {
	tok := "/" + strings.Repeat("a", 20) + ".eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln"
	for _, s := range [][3]string{
		{tok + "/vod/a.ts", "GET", "192.0.2.1"},
		{"/vod/../../etc", "HEAD", "192.0.2.1, 10.0.0.1"},
		{"/public/a%20b.jpg?x=1#f", "", ""},
		{"//x", "POST", "::1"},
		{"", "GET", "not an address"},
		{"/public/\x00", "G\x00T", ","},
	} {
		f.Add(s[0], s[1], s[2])
	}
	e, err := New(Config{Auth: true, AuthPathPrefix: "/.smd-auth", TrustedProxies: []string{"10.0.0.0/8"},
		Routes: []Route{{Prefix: "/vod/"}, {Prefix: "/public/", Mode: ModeOff}}}, Deps{Keys: testKeys})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, uri, method, xff string) {
		r := httptest.NewRequest("GET", "/.smd-auth", nil)
		r.RemoteAddr = "10.0.0.2:1"
		r.Header = http.Header{"X-Original-Uri": {uri}, "X-Original-Method": {method}, "X-Forwarded-For": {xff}}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		switch w.Code {
		case 200:
			p := w.Header().Get(HeaderOriginPath)
			if n, err := token.NormalizePath(p); err != nil || n != p || !strings.HasPrefix(p, "/public/") && !strings.HasPrefix(p, "/vod/") {
				t.Fatalf("allowed %q with origin path %q", uri, p)
			}
		case 400, 401, 403, 404, 405:
			if w.Body.Len() != 0 {
				t.Fatalf("a refusal with a body: %q", w.Body)
			}
		default:
			t.Fatalf("status %d for %q %q %q", w.Code, uri, method, xff)
		}
	})
}
