package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/revocation"
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
			status: 200, want: map[string]string{HeaderOriginPath: "/vod/m1/seg%201.ts", HeaderSession: "S1", HeaderKeyID: "k1", HeaderVerdict: "allow", HeaderReason: ""},
			event: accesslog.Event{Verdict: "allow", Status: 200, SessionID: "S1", ViewerIP: "192.0.2.10", OriginPath: "/vod/m1/seg%201.ts", Method: "GET", Route: "/vod/"}},
		{name: "valid, Caddy and Traefik headers", remote: proxy,
			header: http.Header{"X-Forwarded-Uri": {"/" + vod + "/vod/m1/a.ts"}, "X-Forwarded-Method": {"HEAD"}, "X-Forwarded-For": {"192.0.2.10"}, "X-Forwarded-Host": {"cdn.example.com"}},
			status: 200, want: map[string]string{HeaderSession: "S1"},
			event: accesslog.Event{Verdict: "allow", Method: "HEAD"}},
		{name: "forwarded address from an untrusted peer is ignored", remote: "192.0.2.99:1",
			header: http.Header{"X-Original-Uri": {"/" + vod + "/vod/m1/a.ts"}, "X-Forwarded-For": {"192.0.2.10"}},
			status: 401, want: map[string]string{HeaderReason: "binding_mismatch", HeaderVerdict: "deny", HeaderSession: ""},
			event: accesslog.Event{Verdict: "deny", Reason: "binding_mismatch", ViewerIP: "192.0.2.99"}},
		{name: "no token", remote: proxy, header: http.Header{"X-Original-Uri": {"/vod/m1/a.ts"}},
			status: 401, want: map[string]string{HeaderReason: "missing"}},
		{name: "expired, status configured", remote: proxy, header: http.Header{"X-Original-Uri": {"/" + expired + "/vod/m1/a.ts"}},
			status: 403, want: map[string]string{HeaderReason: "expired"}},
		{name: "revoked", remote: proxy, header: http.Header{"X-Original-Uri": {"/" + gone + "/vod/m1/a.ts"}},
			status: 403, want: map[string]string{HeaderReason: "revoked", HeaderVerdict: "revoked"},
			event: accesslog.Event{Verdict: "revoked", Status: 403, SessionID: "Gone1"}},
		{name: "log route passes", remote: proxy, header: http.Header{"X-Original-Uri": {"/trial/a.ts"}},
			status: 200, want: map[string]string{HeaderVerdict: "log_deny", HeaderOriginPath: "/trial/a.ts"}},
		{name: "off route", remote: proxy, header: http.Header{"X-Original-Uri": {"/public/a.jpg"}},
			status: 200, want: map[string]string{HeaderVerdict: "unchecked"}},
		{name: "escape above the root", remote: proxy, header: http.Header{"X-Original-Uri": {"/" + vod + "/vod/../../etc/passwd"}},
			status: 401, want: map[string]string{HeaderReason: "bad_path", HeaderOriginPath: ""}},
		{name: "not a path", remote: proxy, header: http.Header{"X-Original-Uri": {"http://evil.example/vod/a.ts"}},
			status: 400, want: map[string]string{HeaderReason: "auth_no_uri"}},
		{name: "no original URI", remote: proxy, header: http.Header{},
			status: 400, want: map[string]string{HeaderReason: "auth_no_uri"}},
		{name: "original method POST", remote: proxy, header: http.Header{"X-Original-Uri": {"/" + vod + "/vod/m1/a.ts"}, "X-Original-Method": {"POST"}},
			status: 405, want: map[string]string{HeaderReason: "method_not_allowed"}},
		{name: "no route", remote: proxy, header: http.Header{"X-Original-Uri": {"/other/a.ts"}},
			status: 404, want: map[string]string{HeaderReason: "no_route"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/auth", nil)
			r.RemoteAddr = tc.remote
			r.Header = tc.header
			w := httptest.NewRecorder()
			e.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (reason %q)", w.Code, tc.status, w.Header().Get(HeaderReason))
			}
			for k, v := range tc.want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if w.Code == 200 && w.Body.Len() != 0 {
				t.Errorf("a body on the verdict: %q", w.Body)
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
