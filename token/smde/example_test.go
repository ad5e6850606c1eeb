package smde_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// A playback backend issues a URL bound to the viewer; the edge checks it.
func Example() {
	key := &token.Key{ID: "k2026", Secret: []byte(strings.Repeat("c0ffee", 20))}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

	s := &smde.Signer{Key: key, Now: func() time.Time { return now }}
	playback, _, err := s.SignURL(&smde.Policy{
		IP: true, Session: true, Headers: []string{"user-agent"},
		Paths: []string{"/vod/m1/"}, Expiry: "+2h",
	}, &smde.Viewer{
		IP: "203.0.113.7", SessionID: "viewer42",
		Headers: map[string]string{"User-Agent": "Player/2.1"},
	}, "https://cdn.example.com/vod/m1/index.m3u8")
	if err != nil {
		panic(err)
	}

	// The player resolves a segment URL against the playlist's URL.
	target := strings.TrimPrefix(playback, "https://cdn.example.com")
	target = strings.Replace(target, "index.m3u8", "720p/seg_00001.ts", 1)

	v := smde.NewVerifier(smde.Options{})
	keys := token.Keys{key.ID: key}
	for _, ua := range []string{"Player/2.1", "curl/8.0"} {
		g, err := v.Verify(&token.Request{
			Method: "GET",
			Target: target,
			Header: http.Header{"User-Agent": {ua}},
			IP:     netip.MustParseAddr("203.0.113.7"),
			Now:    now.Add(10 * time.Minute),
		}, keys)
		if err != nil {
			fmt.Printf("%s: refused (%s, HTTP %d)\n", ua, token.ReasonOf(err), token.ReasonOf(err).Status())
			continue
		}
		fmt.Printf("%s: fetch %s for session %s\n", ua, g.OriginPath, g.SessionID)
	}
	// Output:
	// Player/2.1: fetch /vod/m1/720p/seg_00001.ts for session viewer42
	// curl/8.0: refused (binding_mismatch, HTTP 401)
}
