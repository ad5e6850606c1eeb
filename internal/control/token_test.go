package control_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// tokenAnswer is the JSON of GET /v1/token.
type tokenAnswer struct {
	PlaybackURL string `json:"playback_url"`
	TokenPolicy struct {
		IP           bool   `json:"ip"`
		IPValue      string `json:"ip_value"`
		UA           bool   `json:"ua"`
		UAValue      string `json:"ua_value"`
		Referer      bool   `json:"referer"`
		RefererValue string `json:"referer_value"`
	} `json:"token_policy"`
	SessionID string    `json:"session_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// verify checks a playback URL as the edge would, for a viewer.
func verify(t *testing.T, playback string, ip string, header http.Header, g token.Geo, now time.Time) (token.Grant, error) {
	t.Helper()
	u, err := url.Parse(playback)
	if err != nil {
		t.Fatal(err)
	}
	keys := token.NewKeys(map[string]string{testKID: testSecret})
	return smde.NewVerifier(smde.Options{CacheEntries: -1}).Verify(&token.Request{
		Method: "GET", Target: u.RequestURI(), Header: header, IP: netip.MustParseAddr(ip), Geo: g, Now: now,
	}, keys)
}

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestToken(t *testing.T) {
	e := newEnv(t, nil)
	expect(t, e.do(t, "POST", "/v1/assets", e.admin, m1), 201, "")
	r := e.do(t, "GET", "/v1/token?id=m1", e.issuer, "", "User-Agent: Player/1.0", "Referer: https://site.example/")
	expect(t, r, 200, "")
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	var ans tokenAnswer
	r.decode(t, &ans)
	// No playback_scheme: the scheme the request came by (plain HTTP).
	if !strings.HasPrefix(ans.PlaybackURL, "http://cdn.example.com/") || !strings.HasSuffix(ans.PlaybackURL, "/vod/m1/index.m3u8") {
		t.Errorf("playback_url %q", ans.PlaybackURL)
	}
	p := ans.TokenPolicy
	if !p.IP || p.IPValue != "127.0.0.1" || !p.UA || p.UAValue != "Player/1.0" || p.Referer || p.RefererValue != "https://site.example/" {
		t.Errorf("token_policy %+v", p)
	}
	now := e.clock.Now()
	if !ans.ExpiresAt.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("expires_at %v, want %v", ans.ExpiresAt, now.Add(2*time.Hour))
	}
	seg := ans.PlaybackURL[:strings.LastIndex(ans.PlaybackURL, "/")] + "/720p/seg_1.ts"
	tests := []struct {
		name   string
		url    string
		ip, ua string
		at     time.Time
		ok     bool
	}{
		{"same viewer", ans.PlaybackURL, "127.0.0.1", "Player/1.0", now, true},
		{"same viewer, segment", seg, "127.0.0.1", "Player/1.0", now, true},
		{"other IP", ans.PlaybackURL, "192.0.2.1", "Player/1.0", now, false},
		{"other player", ans.PlaybackURL, "127.0.0.1", "curl/8", now, false},
		{"expired", ans.PlaybackURL, "127.0.0.1", "Player/1.0", now.Add(2*time.Hour + time.Second), false},
		{"other title", strings.Replace(ans.PlaybackURL, "/m1/", "/m2/", 1), "127.0.0.1", "Player/1.0", now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify(t, tc.url, tc.ip, hdr("User-Agent", tc.ua), token.Geo{}, tc.at)
			if (err == nil) != tc.ok {
				t.Errorf("verify: %v, want ok=%v", err, tc.ok)
			}
		})
	}

	errs := []struct {
		name, path string
		status     int
		code       string
	}{
		{"unknown asset", "/v1/token?id=nope", 404, "asset_not_found"},
		{"bad id", "/v1/token?id=a-b", 400, "invalid_id"},
		{"no id", "/v1/token", 400, "invalid_id"},
		{"two ids", "/v1/token?id=m1&id=m2", 400, "invalid_id"},
		{"long id", "/v1/token?id=" + strings.Repeat("a", 201), 400, "invalid_id"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, e.do(t, "GET", tc.path, e.issuer, ""), tc.status, tc.code)
		})
	}
}

func TestTokenBindings(t *testing.T) {
	e := newEnv(t, func(c *control.Config) {
		c.TrustedProxies = []string{"127.0.0.1/32"}
		c.GeoHeaders = true
		c.MaxTokenLifetime = time.Hour
		c.PlaybackScheme = "http"
	})
	assets := []string{
		// Session, query value, long expiry (capped), no scheme in the hostname.
		`{"id":"q1","url_path":"/vod/q1/index.m3u8","endpoint_hostname":"localhost:8080",
		  "token_policy":{"ssn":true,"querystrings":["user"],"paths":["/vod/q1/"],"exp":"+30d"}}`,
		// IP and country.
		`{"id":"g1","url_path":"/vod/g1/index.m3u8","endpoint_hostname":"https://cdn.example.com",
		  "token_policy":{"ip":true,"co":true,"paths":["/vod/g1/"],"exp":"+10m"}}`,
		// Region with fallback.
		`{"id":"r1","url_path":"/vod/r1/index.m3u8","endpoint_hostname":"cdn.example.com",
		  "token_policy":{"reg":true,"reg_fallback":true,"paths":["/vod/r1/"],"exp":"+10m"}}`,
	}
	for _, a := range assets {
		expect(t, e.do(t, "POST", "/v1/assets", e.admin, a), 201, "")
	}
	now := e.clock.Now()

	t.Run("session, query, capped expiry", func(t *testing.T) {
		var ans tokenAnswer
		r := e.do(t, "GET", "/v1/token?id=q1&user=42&other=x", e.issuer, "")
		expect(t, r, 200, "")
		r.decode(t, &ans)
		if !strings.HasPrefix(ans.PlaybackURL, "http://localhost:8080/"+ans.SessionID+".") || !strings.HasSuffix(ans.PlaybackURL, "/vod/q1/index.m3u8?user=42") {
			t.Errorf("playback_url %q (session %q)", ans.PlaybackURL, ans.SessionID)
		}
		if len(ans.SessionID) != 12 {
			t.Errorf("session id %q", ans.SessionID)
		}
		if !ans.ExpiresAt.Equal(now.Add(time.Hour)) {
			t.Errorf("expires_at %v, want capped at %v", ans.ExpiresAt, now.Add(time.Hour))
		}
		g, err := verify(t, ans.PlaybackURL, "192.0.2.1", nil, token.Geo{}, now)
		if err != nil || g.SessionID != ans.SessionID || g.Expires.Unix() != now.Add(time.Hour).Unix() {
			t.Errorf("verify: %+v %v", g, err)
		}
		if _, err := verify(t, strings.Replace(ans.PlaybackURL, "user=42", "user=43", 1), "192.0.2.1", nil, token.Geo{}, now); err == nil {
			t.Error("another user's query value verified")
		}
		if _, err := verify(t, ans.PlaybackURL, "192.0.2.1", nil, token.Geo{}, now.Add(time.Hour+time.Second)); err == nil {
			t.Error("verified after the capped expiry")
		}
	})

	t.Run("forwarded IP and country from a trusted proxy", func(t *testing.T) {
		var ans tokenAnswer
		r := e.do(t, "GET", "/v1/token?id=g1", e.issuer, "", "X-Forwarded-For: 198.51.100.77, 203.0.113.9", "CloudFront-Viewer-Country: FR")
		expect(t, r, 200, "")
		r.decode(t, &ans)
		if ans.TokenPolicy.IPValue != "203.0.113.9" {
			t.Errorf("ip_value %q, want the rightmost untrusted address", ans.TokenPolicy.IPValue)
		}
		if _, err := verify(t, ans.PlaybackURL, "203.0.113.9", nil, token.Geo{Country: "FR"}, now); err != nil {
			t.Errorf("same viewer: %v", err)
		}
		if _, err := verify(t, ans.PlaybackURL, "203.0.113.9", nil, token.Geo{Country: "DE"}, now); err == nil {
			t.Error("verified in another country")
		}
		r = e.do(t, "GET", "/v1/token?id=g1", e.issuer, "", "X-Forwarded-For: 203.0.113.9")
		expect(t, r, 400, "viewer_attribute_unknown")
	})

	t.Run("region fallback", func(t *testing.T) {
		var ans tokenAnswer
		r := e.do(t, "GET", "/v1/token?id=r1", e.issuer, "")
		expect(t, r, 200, "")
		r.decode(t, &ans)
		if _, err := verify(t, ans.PlaybackURL, "192.0.2.1", nil, token.Geo{}, now); err != nil {
			t.Errorf("unknown region with fallback: %v", err)
		}
	})
}

func TestTokenUntrustedForwarding(t *testing.T) {
	e := newEnv(t, func(c *control.Config) { c.GeoHeaders = true })
	expect(t, e.do(t, "POST", "/v1/assets", e.admin, m1), 201, "")
	var ans tokenAnswer
	r := e.do(t, "GET", "/v1/token?id=m1", e.issuer, "", "X-Forwarded-For: 203.0.113.9")
	expect(t, r, 200, "")
	r.decode(t, &ans)
	if ans.TokenPolicy.IPValue != "127.0.0.1" {
		t.Errorf("ip_value %q: X-Forwarded-For believed from an untrusted peer", ans.TokenPolicy.IPValue)
	}
}

func TestTokenRateLimit(t *testing.T) {
	e := newEnv(t, func(c *control.Config) {
		c.PublicTokenEndpoint = true
		c.TokenRate = 0.5
		c.TokenBurst = 2
	})
	expect(t, e.do(t, "POST", "/v1/assets", e.admin, m1), 201, "")
	for i := range 2 {
		expect(t, e.do(t, "GET", "/v1/token?id=m1", "", ""), 200, "")
		_ = i
	}
	r := e.do(t, "GET", "/v1/token?id=m1", "", "")
	expect(t, r, 429, "rate_limited")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra != 2 {
		t.Errorf("Retry-After %q, want 2", r.header.Get("Retry-After"))
	}
	// Refused requests do not count: after 2s one more passes.
	expect(t, e.do(t, "GET", "/v1/token?id=m1", "", ""), 429, "rate_limited")
	e.clock.Add(2 * time.Second)
	expect(t, e.do(t, "GET", "/v1/token?id=m1", "", ""), 200, "")
	expect(t, e.do(t, "GET", "/v1/token?id=m1", "", ""), 429, "rate_limited")
	// An issuer key is not limited; a bad key is refused, not limited.
	expect(t, e.do(t, "GET", "/v1/token?id=m1", e.issuer, ""), 200, "")
	expect(t, e.do(t, "GET", "/v1/token?id=m1", "smd_issuer_wrong", ""), 401, "api_key_invalid")
	// A reader key counts as public.
	expect(t, e.do(t, "GET", "/v1/token?id=m1", e.reader, ""), 429, "rate_limited")
	// Management endpoints are not public.
	expect(t, e.do(t, "GET", "/v1/assets", "", ""), 401, "api_key_missing")
}

// TestPlaybackScheme: without control.playback_scheme the playback URL's
// scheme is the one the viewer reached the edge by: X-Forwarded-Proto
// from a trusted proxy (the last one, which the nearest proxy set), else
// the request's own; a configured scheme wins; an untrusted peer's
// X-Forwarded-Proto is ignored.
func TestPlaybackScheme(t *testing.T) {
	for _, tc := range []struct {
		name, configured string
		trusted          bool
		headers          []string
		want             string
	}{
		{"plain request", "", true, nil, "http://"},
		{"proxy says https", "", true, []string{"X-Forwarded-Proto: https"}, "https://"},
		{"proxy says HTTP", "", true, []string{"X-Forwarded-Proto: HTTP"}, "http://"},
		{"chain, nearest last", "", true, []string{"X-Forwarded-Proto: http, https"}, "https://"},
		{"nonsense", "", true, []string{"X-Forwarded-Proto: gopher"}, "http://"},
		{"untrusted peer", "", false, []string{"X-Forwarded-Proto: https"}, "http://"},
		{"configured https", "https", true, nil, "https://"},
		{"configured http", "http", true, []string{"X-Forwarded-Proto: https"}, "http://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *control.Config) {
				c.PlaybackScheme = tc.configured
				if tc.trusted {
					c.TrustedProxies = []string{"127.0.0.1/32"}
				}
			})
			expect(t, e.do(t, "POST", "/v1/assets", e.admin, m1), 201, "")
			r := e.do(t, "GET", "/v1/token?id=m1", e.issuer, "", append([]string{"User-Agent: P/1"}, tc.headers...)...)
			expect(t, r, 200, "")
			var ans tokenAnswer
			r.decode(t, &ans)
			if !strings.HasPrefix(ans.PlaybackURL, tc.want+"cdn.example.com/") {
				t.Errorf("playback_url %q, want %s...", ans.PlaybackURL, tc.want)
			}
		})
	}
}

// TestTokenForwarded: behind a trusted proxy that sends RFC 7239
// Forwarded (and no X-Forwarded-For), the token binds the address it
// names, as the edge reads it (one viewer package for both).
func TestTokenForwarded(t *testing.T) {
	e := newEnv(t, func(c *control.Config) { c.TrustedProxies = []string{"127.0.0.1/32"} })
	expect(t, e.do(t, "POST", "/v1/assets", e.admin, m1), 201, "")
	r := e.do(t, "GET", "/v1/token?id=m1", e.issuer, "", "User-Agent: P/1", `Forwarded: for="[2001:db8::7]:4711";proto=https`)
	expect(t, r, 200, "")
	var ans tokenAnswer
	r.decode(t, &ans)
	if ans.TokenPolicy.IPValue != "2001:db8::7" {
		t.Errorf("ip_value %q, want the Forwarded address", ans.TokenPolicy.IPValue)
	}
}
