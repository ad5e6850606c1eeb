package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/smd-media/smd/internal/revocation"
	"github.com/smd-media/smd/token/smde"
)

// BenchmarkAuth is one auth request (nginx auth_request's headers, a
// token bound to the IP and a session, a revoked set to check against):
// smd's own share of what a proxy's auth round trip costs, without the
// HTTP server (bench/dropin.sh measures the whole of it against nginx).
func BenchmarkAuth(b *testing.B) {
	e, err := New(Config{Auth: true, Routes: []Route{{Prefix: "/"}}, TrustedProxies: []string{"127.0.0.1"}},
		Deps{Keys: testKeys, Revoked: revocation.NewSet("x")})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := (&smde.Signer{Key: testKey}).Sign(&smde.Policy{Paths: []string{"/"}, IP: true, Session: true, Expiry: farFuture},
		&smde.Viewer{IP: "192.0.2.10", SessionID: "Bench1"})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/.smd-auth", nil)
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("X-Original-URI", "/"+tok.Token+"/vod/m1/seg1.ts")
	r.Header.Set("X-Original-Method", "GET")
	r.Header.Set("X-Forwarded-For", "192.0.2.10")
	w := &discardWriter{header: make(http.Header, 16)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		w.status = 0
		e.ServeHTTP(w, r)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}
