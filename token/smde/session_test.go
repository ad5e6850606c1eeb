package smde

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/smd-media/smd/token"
)

// TestSessionProof: a session id is an identity only when the token's
// intsig covers it. On an exc path the binding does not decide the
// verdict, so a session id written there by someone else must come out
// unproven, and the token's own session (once proven) wins over it.
func TestSessionProof(t *testing.T) {
	const victim, owner = "victimSession1", "ownerSession1"
	policy := Policy{IP: true, Session: true, Headers: []string{"user-agent"},
		Paths: []string{"/vod/m1/"}, Exclusions: []string{"/ads/"}}
	ownerViewer := Viewer{IP: "192.0.2.10", SessionID: owner, Headers: map[string]string{"User-Agent": "P/1"}}
	seg := sign(t, policy, ownerViewer)
	jwt := strings.TrimPrefix(seg, owner+".")
	geoPolicy := Policy{Country: true, CountryFallback: true, Session: true, Paths: []string{"/vod/"}}
	geoSeg := sign(t, geoPolicy, Viewer{Country: "FR", SessionID: owner})
	plain := sign(t, Policy{Paths: []string{"/vod/"}, Exclusions: []string{"/ads/"}}, Viewer{})

	type step struct {
		segment, path, ip, ua string
		country               string
		wantSession           string
		wantProven            bool
		wantReason            token.Reason
	}
	ownerReq := func(path string) step {
		return step{segment: seg, path: path, ip: "192.0.2.10", ua: "P/1", wantSession: owner, wantProven: true}
	}
	swapped := func(ip string, wantSession string, proven bool) step {
		return step{segment: victim + "." + jwt, path: "/ads/a.ts", ip: ip, ua: "Other/2", wantSession: wantSession, wantProven: proven}
	}
	tests := []struct {
		name    string
		noCache bool
		steps   []step
	}{
		{name: "owner on a granted path proves the session", steps: []step{ownerReq("/vod/m1/a.ts")}},
		{name: "owner on an exc path proves the session", steps: []step{ownerReq("/ads/a.ts")}},
		{name: "swapped id on an exc path, token never proven here", steps: []step{
			swapped("198.51.100.7", victim, false)}},
		{name: "swapped id on an exc path after the owner proved the token", steps: []step{
			ownerReq("/vod/m1/a.ts"), swapped("198.51.100.7", owner, true)}},
		{name: "swapped id after proof, verified-token cache off", noCache: true, steps: []step{
			ownerReq("/vod/m1/a.ts"), swapped("198.51.100.7", victim, false)}},
		{name: "swapped id on a granted path is refused", steps: []step{
			{segment: victim + "." + jwt, path: "/vod/m1/a.ts", ip: "192.0.2.10", ua: "P/1", wantReason: token.ReasonBindingMismatch}}},
		{name: "owner's id from another viewer on an exc path", steps: []step{
			{segment: seg, path: "/ads/a.ts", ip: "198.51.100.7", ua: "P/1", wantSession: owner, wantProven: false}}},
		{name: "geo fallback proves nothing", steps: []step{
			{segment: geoSeg, path: "/vod/a.ts", wantSession: owner, wantProven: false}}},
		{name: "geo bound and known proves the session", steps: []step{
			{segment: geoSeg, path: "/vod/a.ts", country: "FR", wantSession: owner, wantProven: true}}},
		{name: "token without a session", steps: []step{
			{segment: plain, path: "/ads/a.ts", wantSession: ""}, {segment: plain, path: "/vod/a.ts", wantSession: ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{}
			if tc.noCache {
				o.CacheEntries = -1
			}
			v := NewVerifier(o)
			for i, s := range tc.steps {
				req := &token.Request{Method: "GET", Target: "/" + s.segment + s.path,
					Header: http.Header{"User-Agent": {s.ua}}, Geo: token.Geo{Country: s.country}, Now: caseNow}
				if s.ip != "" {
					req.IP = netip.MustParseAddr(s.ip)
				}
				g, err := v.Verify(req, caseKeys)
				if got := token.ReasonOf(err); got != s.wantReason {
					t.Fatalf("step %d: reason %q, want %q (%v)", i, got, s.wantReason, err)
				}
				if err != nil {
					continue
				}
				if g.SessionID != s.wantSession || g.SessionProven != s.wantProven {
					t.Errorf("step %d: session %q proven %v, want %q proven %v", i, g.SessionID, g.SessionProven, s.wantSession, s.wantProven)
				}
			}
		})
	}
}
