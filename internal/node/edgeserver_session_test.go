package node_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smd-media/smd/token/smde"
)

// TestRevokedOnExcPathFreshEdge: on an edge that never saw the token prove
// its session, a revoked session's token on an exc path is still refused,
// under another session id or none: the edge proves the session from the
// revoked set itself. A session not revoked is served there as before.
func TestRevokedOnExcPathFreshEdge(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ad") }))
	defer origin.Close()
	sign := func(sid string) string {
		tok, err := (&smde.Signer{Key: testKey}).Sign(&smde.Policy{Session: true, Paths: []string{"/vod/m1/"}, Exclusions: []string{"/vod/ads/"}, Expiry: farFuture},
			&smde.Viewer{SessionID: sid})
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	gone, fine := sign("Gone1"), sign("Fine1")
	jwtOf := func(tok string) string { return tok[strings.IndexByte(tok, '.')+1:] }
	for _, tc := range []struct {
		name, seg string
		want      int
	}{
		{"revoked, another id", "Fresh1." + jwtOf(gone), 403},
		{"revoked, no id", jwtOf(gone), 403},
		{"not revoked, another id", "Fresh2." + jwtOf(fine), 200},
		{"not revoked, no id", jwtOf(fine), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := startEdge(t, origin.URL, nil) // a fresh edge each time; its revoked file holds Gone1
			if st, _, _ := get(t, "http://"+s.Addr+"/"+tc.seg+"/vod/ads/a.ts", nil); st != tc.want {
				t.Fatalf("%d, want %d", st, tc.want)
			}
		})
	}
}
