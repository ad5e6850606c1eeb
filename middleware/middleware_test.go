package middleware_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smd-media/smd/middleware"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

var keys = token.NewKeys(map[string]string{"k1": strings.Repeat("5c", 32)})

func sign(t *testing.T, p smde.Policy, v smde.Viewer) string {
	t.Helper()
	tok, err := (&smde.Signer{Key: keys.Lookup("k1")}).Sign(&p, &v)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// syncBuffer is an access log the test reads while the logger writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func TestMiddleware(t *testing.T) {
	type seen struct {
		path    string
		session middleware.Session
	}
	var got []seen
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := middleware.SessionFrom(r)
		if !ok {
			t.Error("SessionFrom: nothing on a request the middleware passed")
		}
		got = append(got, seen{r.URL.Path, s})
		io.WriteString(w, "media "+r.URL.Path)
	})
	logBuf := &syncBuffer{}
	mw, err := middleware.New(next, middleware.Options{
		Keys:    keys,
		Revoked: middleware.RevokedFunc(func(id string) bool { return id == "Gone1" }),
		Routes: []middleware.Route{
			{Prefix: "/vod/"},
			{Prefix: "/trial/", Mode: middleware.Log},
			{Prefix: "/public/", Mode: middleware.Off},
		},
		Status:    map[string]int{"expired": 410},
		AccessLog: logBuf,
		ID:        "media-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	good := sign(t, smde.Policy{Paths: []string{"/vod/m1/"}, Session: true, IP: true, Expiry: "+1h"}, smde.Viewer{SessionID: "View1", IP: "192.0.2.7"})
	gone := sign(t, smde.Policy{Paths: []string{"/vod/"}, Session: true, Expiry: "+1h"}, smde.Viewer{SessionID: "Gone1"})
	old, err := (&smde.Signer{Key: keys.Lookup("k1"), Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }}).Sign(
		&smde.Policy{Paths: []string{"/vod/"}, Expiry: "+1h"}, &smde.Viewer{})
	if err != nil {
		t.Fatal(err)
	}
	expired := old.Token
	tests := []struct {
		name, target, remote string
		status               int
		path                 string // what the next handler sees; "" when it must not be called
		session              string
		verdict              string
	}{
		{name: "valid", target: "/" + good + "/vod/m1/seg%201.ts", remote: "192.0.2.7:5000", status: 200, path: "/vod/m1/seg 1.ts", session: "View1", verdict: "allow"},
		{name: "dot segments normalized", target: "/" + good + "/vod/m1/x/../seg2.ts", remote: "192.0.2.7:5000", status: 200, path: "/vod/m1/seg2.ts", session: "View1", verdict: "allow"},
		{name: "another address", target: "/" + good + "/vod/m1/seg1.ts", remote: "198.51.100.1:5000", status: 401},
		{name: "outside the token's paths", target: "/" + good + "/vod/m2/seg1.ts", remote: "192.0.2.7:5000", status: 401},
		{name: "no token", target: "/vod/m1/seg1.ts", remote: "192.0.2.7:5000", status: 401},
		{name: "expired, status configured", target: "/" + expired + "/vod/m1/seg1.ts", remote: "192.0.2.7:5000", status: 410},
		{name: "revoked", target: "/" + gone + "/vod/m1/seg1.ts", remote: "192.0.2.7:5000", status: 403},
		{name: "log route passes a bad token", target: "/trial/a.ts", remote: "192.0.2.7:5000", status: 200, path: "/trial/a.ts", verdict: "log_deny"},
		{name: "off route", target: "/public/poster.jpg", remote: "192.0.2.7:5000", status: 200, path: "/public/poster.jpg", verdict: "unchecked"},
		{name: "no route", target: "/other/a.ts", remote: "192.0.2.7:5000", status: 404},
		{name: "escape above the root", target: "/" + good + "/vod/m1/../../../etc/passwd", remote: "192.0.2.7:5000", status: 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got = nil
			r := httptest.NewRequest("GET", tc.target, nil)
			r.RemoteAddr = tc.remote
			w := httptest.NewRecorder()
			mw.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			if tc.path == "" {
				if len(got) != 0 {
					t.Fatalf("the next handler was called: %+v", got)
				}
				if strings.Contains(w.Body.String(), "media") {
					t.Fatalf("refused request served: %q", w.Body)
				}
				return
			}
			if len(got) != 1 || got[0].path != tc.path {
				t.Fatalf("next handler saw %+v, want path %q", got, tc.path)
			}
			s := got[0].session
			if s.ID != tc.session || s.Verdict != tc.verdict || (tc.session != "" && (!s.Proven || s.KeyID != "k1")) {
				t.Fatalf("session %+v, want id %q verdict %q", s, tc.session, tc.verdict)
			}
		})
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(logBuf.b.String()), "\n")
	if len(lines) != len(tests) {
		t.Fatalf("%d access events for %d requests", len(lines), len(tests))
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev["session_id"] != "View1" || ev["edge_id"] != "media-1" || ev["verdict"] != "allow" || ev["origin_path"] != "/vod/m1/seg%201.ts" {
		t.Fatalf("access event: %v", ev)
	}
	if strings.Contains(logBuf.b.String(), good) {
		t.Fatal("a token in the access log")
	}
}

func TestNewErrors(t *testing.T) {
	next := http.NotFoundHandler()
	for _, tc := range []struct {
		name string
		next http.Handler
		o    middleware.Options
		want string
	}{
		{"no handler", nil, middleware.Options{Keys: keys}, "no next handler"},
		{"no keys", next, middleware.Options{}, "no keys"},
		{"bad prefix", next, middleware.Options{Keys: keys, Routes: []middleware.Route{{Prefix: "vod/"}}}, "prefix"},
		{"bad mode", next, middleware.Options{Keys: keys, Routes: []middleware.Route{{Prefix: "/vod/", Mode: "strict"}}}, "mode"},
		{"bad proxy", next, middleware.Options{Keys: keys, TrustedProxies: []string{"10.0.0.0/33"}}, "trusted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := middleware.New(tc.next, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// TestTrustedProxy: the viewer's address comes from X-Forwarded-For only
// when the proxy that sent it is trusted.
func TestTrustedProxy(t *testing.T) {
	mw, err := middleware.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), middleware.Options{
		Keys: keys, TrustedProxies: []string{"10.0.0.0/8"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, smde.Policy{Paths: []string{"/"}, IP: true, Expiry: "+1h"}, smde.Viewer{IP: "203.0.113.5"})
	for _, tc := range []struct {
		remote string
		status int
	}{{"10.1.2.3:1", 200}, {"192.0.2.1:1", 401}} {
		r := httptest.NewRequest("GET", "/"+tok+"/a.ts", nil)
		r.RemoteAddr = tc.remote
		r.Header.Set("X-Forwarded-For", "203.0.113.5")
		w := httptest.NewRecorder()
		mw.ServeHTTP(w, r)
		if w.Code != tc.status {
			t.Errorf("from %s: %d, want %d", tc.remote, w.Code, tc.status)
		}
	}
}

// BenchmarkMiddleware is the cost of the check in front of a handler: a
// token bound to the IP and a session, verified (after the first request,
// from the verifier's cache) and looked up in a revoked set.
func BenchmarkMiddleware(b *testing.B) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	mw, err := middleware.New(next, middleware.Options{Keys: keys, Revoked: middleware.RevokedFunc(func(string) bool { return false })})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := (&smde.Signer{Key: keys.Lookup("k1")}).Sign(&smde.Policy{Paths: []string{"/"}, IP: true, Session: true, Expiry: "+1h"},
		&smde.Viewer{IP: "192.0.2.10", SessionID: "Bench1"})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/"+tok.Token+"/vod/m1/seg1.ts", nil)
	r.RemoteAddr = "192.0.2.10:40000"
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		mw.ServeHTTP(w, r)
	}
	if w.Code != 200 {
		b.Fatalf("status %d", w.Code)
	}
}
