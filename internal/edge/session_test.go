package edge

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/smd-media/smd/token/smde"
)

// TestUnprovenSessionOnExcPaths is the defect hostile testing found: on an
// exc path SMDE checks only the signature and times, so a session id
// written in front of a valid token is proven by nothing there. The edge
// must mark it unproven in the access event, and a revoked session must
// stay refused there whatever id its token is given.
func TestUnprovenSessionOnExcPaths(t *testing.T) {
	policy := smde.Policy{Paths: []string{"/vod/m1/"}, Exclusions: []string{"/vod/ads/"}, IP: true, Session: true}
	own := signFor(t, policy, smde.Viewer{IP: "192.0.2.10", SessionID: "Attacker1"})
	jwt := strings.TrimPrefix(own, "Attacker1.")
	revokedTok := signFor(t, policy, smde.Viewer{IP: "192.0.2.20", SessionID: "Gone1"})
	revokedJWT := strings.TrimPrefix(revokedTok, "Gone1.")

	type req struct {
		target, remote string
		status         int
		session        string
		unproven       bool
	}
	tests := []struct {
		name string
		reqs []req
	}{
		{name: "victim's id on the attacker's token, exc path, another address", reqs: []req{
			{target: "/Victim1." + jwt + "/vod/ads/a.ts", remote: "198.51.100.1:1", status: 200, session: "Victim1", unproven: true}}},
		{name: "own id from the bound address on an exc path is proven", reqs: []req{
			{target: "/" + own + "/vod/ads/a.ts", remote: "192.0.2.10:1", status: 200, session: "Attacker1"}}},
		{name: "once the token proved its session, a swapped id is replaced by it", reqs: []req{
			{target: "/" + own + "/vod/m1/a.ts", remote: "192.0.2.10:1", status: 200, session: "Attacker1"},
			{target: "/Victim1." + jwt + "/vod/ads/a.ts", remote: "198.51.100.1:1", status: 200, session: "Attacker1"}}},
		{name: "a swapped id on a granted path is refused", reqs: []req{
			{target: "/Victim1." + jwt + "/vod/m1/a.ts", remote: "192.0.2.10:1", status: 401}}},
		{name: "revoked session, own id on an exc path", reqs: []req{
			{target: "/" + revokedTok + "/vod/ads/a.ts", remote: "198.51.100.1:1", status: 403, session: "Gone1", unproven: true}}},
		{name: "revoked session, swapped id on an exc path after its token was seen", reqs: []req{
			{target: "/" + revokedTok + "/vod/m1/a.ts", remote: "192.0.2.20:1", status: 403, session: "Gone1"},
			{target: "/Fresh1." + revokedJWT + "/vod/ads/a.ts", remote: "198.51.100.1:1", status: 403, session: "Gone1"},
			{target: "/Fresh1." + revokedJWT + "/vod/ads/a.ts", remote: "192.0.2.20:1", status: 403, session: "Gone1"}}},
		{name: "revoked session, swapped id from its own address on an exc path", reqs: []req{
			{target: "/" + revokedTok + "/vod/ads/a.ts", remote: "192.0.2.20:1", status: 403, session: "Gone1"},
			{target: "/Fresh1." + revokedJWT + "/vod/ads/a.ts", remote: "192.0.2.20:1", status: 403, session: "Gone1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil, "Gone1")
			for i, r := range tc.reqs {
				w := h.do("GET", r.target, nil, r.remote)
				if w.Code != r.status {
					t.Fatalf("request %d: status %d, want %d", i, w.Code, r.status)
				}
				ev := h.events.last(t)
				if r.status == http.StatusUnauthorized {
					continue
				}
				if ev.SessionID != r.session || ev.SessionUnproven != r.unproven {
					t.Errorf("request %d: event session %q unproven %v, want %q unproven %v", i, ev.SessionID, ev.SessionUnproven, r.session, r.unproven)
				}
			}
		})
	}
}

// TestProofScansDue: a JWT is scanned again only once the revoked set has
// grown, at most once a second, and the edge scans at most
// maxScansPerSecond tokens a second.
func TestProofScansDue(t *testing.T) {
	var p proofScans
	const s = int64(1e9)
	steps := []struct {
		jwt     string
		version uint64
		now     int64
		want    bool
	}{
		{"a", 1, 10 * s, true},
		{"a", 1, 12 * s, false},   // the set did not grow
		{"a", 2, 12*s + 1, true},  // it grew
		{"a", 3, 12*s + 2, false}, // within the second
		{"a", 3, 13*s + 3, true},  // a second later
		{"b", 3, 13*s + 4, true},  // another token
		{"b", 3, 13*s + 5, false}, // the same token, same version
	}
	for i, st := range steps {
		if got := p.due(st.jwt, st.version, st.now); got != st.want {
			t.Fatalf("step %d (%s v%d at %d): %v, want %v", i, st.jwt, st.version, st.now, got, st.want)
		}
	}
	n := 0
	for i := range 100 {
		if p.due(fmt.Sprint("t", i), 9, 20*s+int64(i)) {
			n++
		}
	}
	if n != maxScansPerSecond {
		t.Fatalf("%d scans within one second, budget %d", n, maxScansPerSecond)
	}
}
