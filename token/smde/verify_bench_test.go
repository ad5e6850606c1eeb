package smde

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/smd-media/smd/token"
)

// benchRequests returns requests for successive segments of one session
// whose token binds ssn + ip + user-agent + referer, as a player sends them.
func benchRequests(b *testing.B) []*token.Request {
	p := Policy{IP: true, Session: true, Headers: []string{"user-agent", "referer"}, Paths: []string{"/live/ch1/"}, Expiry: "+4h"}
	v := Viewer{
		IP: "198.51.100.10",
		Headers: map[string]string{
			"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
			"Referer":    "https://portal.example.com/watch/ch1",
		},
	}
	s := &Signer{Key: caseKeys.Lookup("k1"), Now: func() time.Time { return caseNow }}
	tok, err := s.Sign(&p, &v)
	if err != nil {
		b.Fatal(err)
	}
	h := http.Header{}
	for k, val := range v.Headers {
		h.Set(k, val)
	}
	reqs := make([]*token.Request, 16)
	for i := range reqs {
		reqs[i] = &token.Request{
			Method: "GET",
			Target: fmt.Sprintf("/%s/live/ch1/720p/seg_%05d.ts", tok.Token, 1000+i),
			Header: h,
			IP:     netip.MustParseAddr("198.51.100.10"),
			Now:    caseNow,
		}
	}
	return reqs
}

func benchVerify(b *testing.B, cacheEntries int) {
	reqs := benchRequests(b)
	v := NewVerifier(Options{CacheEntries: cacheEntries})
	if _, err := v.Verify(reqs[0], caseKeys); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Verify(reqs[i%len(reqs)], caseKeys); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyRepeat: the same token for every segment of a session
// (target <= 1 µs/op).
func BenchmarkVerifyRepeat(b *testing.B) { benchVerify(b, 0) }

// BenchmarkVerifyFirstSeen: every token new to the edge, so the cache
// cannot help (target <= 4 µs/op).
func BenchmarkVerifyFirstSeen(b *testing.B) { benchVerify(b, -1) }

// BenchmarkVerifyRepeatParallel: repeat tokens from all cores at once.
func BenchmarkVerifyRepeatParallel(b *testing.B) {
	reqs := benchRequests(b)
	v := NewVerifier(Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Verify(reqs[i%len(reqs)], caseKeys); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkSign: issuing one token (the token API's cost).
func BenchmarkSign(b *testing.B) {
	p := Policy{IP: true, Session: true, Headers: []string{"user-agent", "referer"}, Paths: []string{"/live/ch1/"}, Expiry: "+4h"}
	v := Viewer{IP: "198.51.100.10", Headers: map[string]string{"User-Agent": "P/1", "Referer": "https://x/"}}
	s := &Signer{Key: caseKeys.Lookup("k1")}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.Sign(&p, &v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPeerGolangJWT is the peer for BenchmarkVerifyFirstSeen: the
// same token's JWT checked by github.com/golang-jwt/jwt/v5 (signature,
// exp, claims into a map), without the path, intsig and session work smd
// also does.
func BenchmarkPeerGolangJWT(b *testing.B) {
	reqs := benchRequests(b)
	seg, _, _, _ := SplitTarget(reqs[0].Target)
	jwtPart := seg[strings.IndexByte(seg, '.')+1:]
	secret := caseKeys.Lookup("k1").Secret
	p := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(func() time.Time { return caseNow }))
	keyFunc := func(*jwt.Token) (any, error) { return secret, nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Parse(jwtPart, keyFunc); err != nil {
			b.Fatal(err)
		}
	}
}
