package smde_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// TestBindingMismatchNamesTheBinding: a binding mismatch says which
// attributes the token binds, never their values nor the request's.
func TestBindingMismatchNamesTheBinding(t *testing.T) {
	key := &token.Key{ID: "k1", Secret: []byte(strings.Repeat("ab", 40))}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	s := &smde.Signer{Key: key, Now: func() time.Time { return now }}
	for _, tc := range []struct {
		name   string
		policy smde.Policy
		want   string
	}{
		{"ip and user agent", smde.Policy{IP: true, Headers: []string{"user-agent"}}, "the token binds ip, header user-agent (values not shown)"},
		{"session and referer", smde.Policy{Session: true, Headers: []string{"referer"}}, "the token binds session, header referer (values not shown)"},
		{"query value", smde.Policy{QueryStrings: []string{"user"}, Headers: []string{"user-agent"}}, "the token binds header user-agent, query user (values not shown)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.policy
			p.Paths, p.Expiry = []string{"/vod/"}, "+1h"
			u, _, err := s.SignURL(&p, &smde.Viewer{IP: "203.0.113.7", SessionID: "sess1",
				Headers: map[string]string{"User-Agent": "Player/2.1", "Referer": "https://a.example/"}}, "https://cdn.example.com/vod/a.m3u8?user=u1")
			if err != nil {
				t.Fatal(err)
			}
			target := strings.TrimPrefix(u, "https://cdn.example.com")
			target = strings.Replace(target, "user=u1", "user=u2", 1)
			_, err = smde.NewVerifier(smde.Options{CacheEntries: -1}).Verify(&token.Request{Method: "GET", Target: target,
				Header: http.Header{"User-Agent": {"curl/8.0"}, "Referer": {"https://b.example/"}},
				IP:     netip.MustParseAddr("198.51.100.9"), Now: now}, token.Keys{key.ID: key})
			if token.ReasonOf(err) != token.ReasonBindingMismatch || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			for _, secret := range []string{"curl", "Player", "203.0.113.7", "198.51.100.9", "a.example", "u1", "u2"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error shows %q: %v", secret, err)
				}
			}
		})
	}
}
