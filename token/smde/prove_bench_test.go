package smde

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/smd-media/smd/token"
)

// BenchmarkProveAgainstRevoked is the edge's scan of a revoked set for a
// token on an exc path with an unproven session id (internal/edge
// revokedByProof): one Verify per revoked id with that id in front of the
// cached JWT; none of them proves. Per op: 10,000 ids.
func BenchmarkProveAgainstRevoked(b *testing.B) {
	tok := sign(b, Policy{Session: true, Paths: []string{"/vod/m1/"}, Exclusions: []string{"/vod/ads/"}}, Viewer{SessionID: "Owner1"})
	jwt := strings.TrimPrefix(tok, "Owner1.")
	ids := make([]string, 10_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("Revoked%06d", i)
	}
	v := NewVerifier(Options{})
	req := &token.Request{Method: "GET", Header: http.Header{}, Now: caseNow}
	b.ReportAllocs()
	for b.Loop() {
		for _, id := range ids {
			req.Target = "/" + id + "." + jwt + "/vod/ads/a.ts"
			if g, err := v.Verify(req, caseKeys); err != nil || g.SessionProven {
				b.Fatal(err, g.SessionProven)
			}
		}
	}
}
