package smde

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/token"
)

// Cases beyond SMDE's vectors: the forms a real edge meets and the attacks
// a strict parser must refuse.

var (
	caseNow    = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	caseSecret = strings.Repeat("5e", 64)
	caseKeys   = token.NewKeys(map[string]string{"k1": caseSecret, "k2": strings.Repeat("7f", 64)})
)

const stdHeader = `{"alg":"HS256","typ":"JWT","kid":"k1"}`

// craft signs arbitrary header and payload text with the key k1, encoding
// each part with enc (the strict encoding unless a case wants another).
func craft(header, payload string, enc *base64.Encoding) string {
	if enc == nil {
		enc = base64.RawURLEncoding
	}
	in := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	h := hmac.New(sha256.New, []byte(caseSecret))
	h.Write([]byte(in))
	return in + "." + enc.EncodeToString(h.Sum(nil))
}

// payload returns a minimal valid claims text with extra fields spliced in.
func payload(extra string) string {
	return `{"ip":false,"co":false,"cty":false,"reg":false,"ssn":false,"exp":1900000000,"headers":[],"qs":[],"paths":["/vod/"],"exc":[]` + extra + `,"iat":1795354415}`
}

func sign(t testing.TB, p Policy, v Viewer) string {
	t.Helper()
	if p.Paths == nil {
		p.Paths = []string{"/vod/"}
	}
	if p.Expiry == "" {
		p.Expiry = "+1h"
	}
	s := &Signer{Key: caseKeys.Lookup("k1"), Now: func() time.Time { return caseNow }}
	tok, err := s.Sign(&p, &v)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

func TestVerifyCases(t *testing.T) {
	longSession := strings.Repeat("s", 200)
	manyPaths := make([]string, 0, 200)
	for i := 0; len(strings.Join(manyPaths, "")) < 6000; i++ {
		manyPaths = append(manyPaths, "/vod/catalogue/title-"+strings.Repeat("x", 20)+"/"+string(rune('a'+i%26)))
	}
	manyPaths = append(manyPaths, "/vod/m1/")

	tests := []struct {
		name    string
		segment string // the token segment
		path    string // origin path and query after the segment
		ip      string
		header  http.Header
		method  string
		now     time.Time
		geo     token.Geo
		want    token.Reason // "" for accepted
		origin  string
	}{
		// IP forms.
		{name: "ipv4-mapped viewer counts as ipv4", segment: sign(t, Policy{IP: true}, Viewer{IP: "198.51.100.10"}), ip: "::ffff:198.51.100.10"},
		{name: "ipv4-mapped issue counts as ipv4", segment: sign(t, Policy{IP: true}, Viewer{IP: "::ffff:198.51.100.10"}), ip: "198.51.100.10"},
		{name: "upper-case ipv6 at issue", segment: sign(t, Policy{IP: true}, Viewer{IP: "2001:DB8::A:B"}), ip: "2001:db8::a:b"},
		{name: "zone id ignored", segment: sign(t, Policy{IP: true}, Viewer{IP: "fe80::1%eth0"}), ip: "fe80::1%eth1"},
		{name: "ipv6 other address", segment: sign(t, Policy{IP: true}, Viewer{IP: "2001:db8::1"}), ip: "2001:db8::2", want: token.ReasonBindingMismatch},
		{name: "ipv4 token ipv6 viewer", segment: sign(t, Policy{IP: true}, Viewer{IP: "192.0.2.1"}), ip: "2001:db8::1", want: token.ReasonIPVersionMismatch},
		{name: "ip bound viewer unknown", segment: sign(t, Policy{IP: true}, Viewer{IP: "192.0.2.1"}), ip: "", want: token.ReasonBindingMismatch},

		// Header binding.
		{name: "header name in any case", segment: sign(t, Policy{Headers: []string{"User-Agent"}}, Viewer{Headers: map[string]string{"user-agent": "P/1"}}),
			header: http.Header{"User-Agent": {"P/1"}}},
		{name: "bound header stripped", segment: sign(t, Policy{Headers: []string{"user-agent"}}, Viewer{Headers: map[string]string{"User-Agent": "P/1"}}),
			want: token.ReasonBindingMismatch},
		{name: "bound header absent at issue and at request", segment: sign(t, Policy{Headers: []string{"referer"}}, Viewer{})},
		{name: "bound header absent at issue, present at request", segment: sign(t, Policy{Headers: []string{"referer"}}, Viewer{}),
			header: http.Header{"Referer": {"https://elsewhere.example/"}}, want: token.ReasonBindingMismatch},
		{name: "first of repeated header", segment: sign(t, Policy{Headers: []string{"x-device"}}, Viewer{Headers: map[string]string{"X-Device": "a"}}),
			header: http.Header{"X-Device": {"a", "b"}}},

		// Paths and exclusions.
		{name: "second of several paths", segment: sign(t, Policy{Paths: []string{"/vod/m1/", "/vod/m2/", "/live/"}}, Viewer{}), path: "/vod/m2/x.ts", origin: "/vod/m2/x.ts"},
		{name: "none of several paths", segment: sign(t, Policy{Paths: []string{"/vod/m1/", "/vod/m2/"}}, Viewer{}), path: "/vod/m3/x.ts", want: token.ReasonPathNotAllowed},
		{name: "second exclusion skips bindings", segment: sign(t, Policy{IP: true, Exclusions: []string{"/ads/", "/slate/"}}, Viewer{IP: "192.0.2.1"}),
			ip: "192.0.2.99", path: "/slate/s.ts", origin: "/slate/s.ts"},
		{name: "traversal into exclusion resolved first", segment: sign(t, Policy{Exclusions: []string{"/ads/"}, Paths: []string{"/vod/m1/"}}, Viewer{}),
			path: "/ads/../vod/m2/x.ts", want: token.ReasonPathNotAllowed},
		{name: "traversal above root", segment: sign(t, Policy{Paths: []string{"/"}}, Viewer{}), path: "/vod/../../etc/passwd", want: token.ReasonBadPath},
		{name: "encoded slash refused", segment: sign(t, Policy{}, Viewer{}), path: "/vod/m1%2f..%2fm2/x.ts", want: token.ReasonBadPath},
		{name: "servlet traversal refused", segment: sign(t, Policy{}, Viewer{}), path: "/vod/m1/..;/m2/x.ts", want: token.ReasonBadPath},
		{name: "encoded unreserved decoded", segment: sign(t, Policy{Paths: []string{"/vod/m1/"}}, Viewer{}), path: "/vod/%6d1/a.ts", origin: "/vod/m1/a.ts"},
		{name: "query kept apart", segment: sign(t, Policy{}, Viewer{}), path: "/vod/m1/a.ts?x=/../..", origin: "/vod/m1/a.ts"},
		{name: "no origin path", segment: sign(t, Policy{}, Viewer{}), path: "", want: token.ReasonMalformed},

		// Sessions.
		{name: "200-character session id", segment: sign(t, Policy{Session: true}, Viewer{SessionID: longSession})},
		{name: "201-character session id", segment: "s" + sign(t, Policy{Session: true}, Viewer{SessionID: longSession}), want: token.ReasonMalformed},
		{name: "session id with a dash", segment: "a-b." + sign(t, Policy{}, Viewer{}), want: token.ReasonMalformed},
		{name: "session id on a token that binds none", segment: "abc." + sign(t, Policy{}, Viewer{}), want: token.ReasonMalformed},

		// Claims.
		{name: "unknown extra claims ignored", segment: craft(stdHeader, payload(`,"sub":"viewer-9","x":{"y":[1,2.5e3,null,true]}`), nil)},
		{name: "duplicate claim", segment: craft(stdHeader, payload(`,"paths":["/"]`), nil), want: token.ReasonMalformed},
		{name: "duplicate claim through an escape", segment: craft(stdHeader, payload(`,"p\u0061ths":["/"]`), nil), want: token.ReasonMalformed},
		{name: "duplicate header field", segment: craft(`{"alg":"HS256","typ":"JWT","kid":"k2","kid":"k1"}`, payload(""), nil), want: token.ReasonMalformed},
		{name: "crit header", segment: craft(`{"alg":"HS256","typ":"JWT","kid":"k1","crit":["exp"]}`, payload(""), nil), want: token.ReasonMalformed},
		{name: "exp missing", segment: craft(stdHeader, `{"paths":["/vod/"]}`, nil), want: token.ReasonMalformed},
		{name: "exp as string", segment: craft(stdHeader, `{"exp":"1900000000","paths":["/vod/"]}`, nil), want: token.ReasonMalformed},
		{name: "exp as float", segment: craft(stdHeader, `{"exp":1.9e9,"paths":["/vod/"]}`, nil), want: token.ReasonMalformed},
		{name: "minimal claims", segment: craft(stdHeader, `{"exp":1900000000,"paths":["/vod/"]}`, nil)},
		{name: "ip without ip_ver", segment: craft(stdHeader, `{"ip":true,"exp":1900000000,"paths":["/vod/"]}`, nil), want: token.ReasonMalformed},
		{name: "binding flag without intsig", segment: craft(stdHeader, `{"ip":true,"ip_ver":4,"exp":1900000000,"paths":["/vod/"]}`, nil), ip: "192.0.2.1", want: token.ReasonBindingMismatch},
		{name: "non-UTF-8 in claims", segment: craft(stdHeader, payload(`,"sub":"`+"\xff\xfe"+`"`), nil), want: token.ReasonMalformed},
		{name: "lone surrogate in claims", segment: craft(stdHeader, payload(`,"sub":"\ud800"`), nil), want: token.ReasonMalformed},
		{name: "trailing garbage after claims", segment: craft(stdHeader, payload("")+"x", nil), want: token.ReasonMalformed},
		{name: "8 KB token", segment: sign(t, Policy{Paths: manyPaths}, Viewer{}), path: "/vod/m1/a.ts", origin: "/vod/m1/a.ts"},

		// Encodings.
		{name: "padded base64", segment: craft(stdHeader, payload(""), base64.URLEncoding), want: token.ReasonMalformed},
		{name: "standard base64 alphabet", segment: craft(stdHeader, payload(`,"sub":"??>>??"`), base64.RawStdEncoding), want: token.ReasonMalformed},
		{name: "lower-case alg", segment: craft(`{"alg":"hs256","typ":"JWT","kid":"k1"}`, payload(""), nil), want: token.ReasonBadAlg},
		{name: "typ other than JWT", segment: craft(`{"alg":"HS256","typ":"JWE","kid":"k1"}`, payload(""), nil), want: token.ReasonMalformed},
		{name: "no kid", segment: craft(`{"alg":"HS256","typ":"JWT"}`, payload(""), nil), want: token.ReasonMalformed},
		{name: "key not held", segment: craft(`{"alg":"HS256","typ":"JWT","kid":"k3"}`, payload(""), nil), want: token.ReasonUnknownKID},
		{name: "kid of another held key", segment: craft(`{"alg":"HS256","typ":"JWT","kid":"k2"}`, payload(""), nil), want: token.ReasonBadSignature},

		// Time.
		{name: "expired one second ago", segment: sign(t, Policy{Expiry: "+1s"}, Viewer{}), now: caseNow.Add(time.Second), want: token.ReasonExpired},
		{name: "valid until its last second", segment: sign(t, Policy{Expiry: "+1s"}, Viewer{}), now: caseNow.Add(999 * time.Millisecond)},
		{name: "nbf ahead", segment: sign(t, Policy{NotBefore: "1900000000"}, Viewer{}), want: token.ReasonNotYetValid},

		// Method.
		{name: "HEAD allowed", segment: sign(t, Policy{}, Viewer{}), method: "HEAD"},
		{name: "DELETE refused", segment: sign(t, Policy{}, Viewer{}), method: "DELETE", want: token.ReasonMethodNotAllowed},
		{name: "OPTIONS is the edge's, not the token's", segment: sign(t, Policy{}, Viewer{}), method: "OPTIONS", want: token.ReasonMethodNotAllowed},
	}
	for _, cache := range []int{-1, 0} {
		v := NewVerifier(Options{CacheEntries: cache})
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				req := &token.Request{Method: "GET", Header: tc.header, Geo: tc.geo, Now: caseNow}
				if tc.method != "" {
					req.Method = tc.method
				}
				if !tc.now.IsZero() {
					req.Now = tc.now
				}
				if req.Header == nil {
					req.Header = http.Header{}
				}
				if tc.ip != "" {
					req.IP = netip.MustParseAddr(tc.ip)
				}
				path := tc.path
				if path == "" && tc.name != "no origin path" {
					path = "/vod/m1/index.m3u8"
				}
				req.Target = "/" + tc.segment + path
				for i := 0; i < 2; i++ { // the second time through the cache
					g, err := v.Verify(req, caseKeys)
					if got := token.ReasonOf(err); got != tc.want || (err != nil && tc.want == "") {
						t.Fatalf("pass %d: got %v, want %q", i, err, tc.want)
					}
					if err == nil && tc.origin != "" && g.OriginPath != tc.origin {
						t.Fatalf("origin path %q, want %q", g.OriginPath, tc.origin)
					}
				}
			})
		}
	}
}

// TestCacheFollowsKeyRing: a token verified while its key was held is
// refused once the key is gone, even though it is cached.
func TestCacheFollowsKeyRing(t *testing.T) {
	seg := sign(t, Policy{}, Viewer{})
	req := &token.Request{Method: "GET", Target: "/" + seg + "/vod/a.ts", Header: http.Header{}, Now: caseNow}
	v := NewVerifier(Options{})
	if _, err := v.Verify(req, caseKeys); err != nil {
		t.Fatal(err)
	}
	if v.cache.len() != 1 {
		t.Fatalf("cache holds %d entries, want 1", v.cache.len())
	}
	rotated := token.Keys{"k2": caseKeys["k2"]}
	if _, err := v.Verify(req, rotated); token.ReasonOf(err) != token.ReasonUnknownKID {
		t.Fatalf("after the key left the ring: %v", err)
	}
	replaced := token.NewKeys(map[string]string{"k1": strings.Repeat("00", 64)})
	if _, err := v.Verify(req, replaced); token.ReasonOf(err) != token.ReasonBadSignature {
		t.Fatalf("after the key was replaced: %v", err)
	}
}

// TestCacheBound: the cache never holds more than its bound, and a token
// with a bad signature is never stored.
func TestCacheBound(t *testing.T) {
	v := NewVerifier(Options{CacheEntries: 64})
	for i := 0; i < 1000; i++ {
		seg := sign(t, Policy{SessionAutoGenerate: "", Session: true}, Viewer{})
		req := &token.Request{Method: "GET", Target: "/" + seg + "/vod/a.ts", Header: http.Header{}, Now: caseNow}
		if _, err := v.Verify(req, caseKeys); err != nil {
			t.Fatal(err)
		}
		tampered := []byte(seg)
		tampered[len(seg)-10] ^= 'A' ^ 'B' // still base64url, another signature
		bad := &token.Request{Method: "GET", Target: "/" + string(tampered) + "/vod/a.ts", Header: http.Header{}, Now: caseNow}
		if _, err := v.Verify(bad, caseKeys); err == nil {
			t.Fatal("tampered signature accepted")
		}
	}
	if n := v.cache.len(); n > 64 || n == 0 {
		t.Fatalf("cache holds %d entries, bound 64", n)
	}
}
