package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Test keys. Secrets are 128 hex characters, as SMDE's.
const (
	testKID     = "20261122_0123456789abcdef0123"
	testSecret  = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
	otherKID    = "20261122_fedcba9876543210fedc"
	otherSecret = "aaaabbbbccccddddeeeeffff00001111aaaabbbbccccddddeeeeffff00001111aaaabbbbccccddddeeeeffff00001111aaaabbbbccccddddeeeeffff00001111"
)

// signed is the --json output of "smd token sign".
type signed struct {
	PlaybackURL string `json:"playback_url"`
	Token       string `json:"token"`
	SessionID   string `json:"session_id"`
	KID         string `json:"kid"`
	Expires     string `json:"expires"`
}

// sign runs "smd token sign --json" and decodes its output.
func sign(t *testing.T, args ...string) signed {
	t.Helper()
	out := mustSucceed(t, "", append([]string{"token", "sign", "--json"}, args...)...)
	var s signed
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("sign output %q: %v", out, err)
	}
	return s
}

// denial is a changed request that must be refused.
type denial struct {
	name   string
	url    func(u string) string // changes the URL; nil keeps it
	viewer []string              // verify flags instead of the case's; nil keeps them
	extra  []string              // flags added to verify
	reason string
	status int
}

func TestSignVerifyRoundTrip(t *testing.T) {
	keys := writeFile(t, "keys.json", fmt.Sprintf(`{%q: %q}`, testKID, testSecret))
	twoKeys := writeFile(t, "two.json", fmt.Sprintf(`{%q: %q, %q: %q}`, testKID, testSecret, otherKID, otherSecret))
	smdeKeys := writeFile(t, "sm.json", fmt.Sprintf(`{"secondary": {"uuid": %q, "value": %q}, "primary": {"uuid": %q, "value": %q}}`,
		testKID, testSecret, otherKID, otherSecret))
	const (
		ua      = "User-Agent: Mozilla/5.0 (X11; Linux x86_64) TestPlayer/1.0, beta"
		referer = "Referer: https://portal.example.com/watch"
		media   = "https://cdn.example.com/vod/m1/index.m3u8"
	)
	now := time.Now().Unix()
	unix := func(d time.Duration) string { return strconv.FormatInt(now+int64(d/time.Second), 10) }
	policyFile := writeFile(t, "policy.json", `{"ip": true, "paths": ["/other/"], "exp": "+1h", "headers": ["user-agent"], "querystrings": [], "exc": []}`)
	viewerFile := writeFile(t, "viewer.json", `{"ip": "203.0.113.5", "headers": {"user-agent": "FilePlayer/2"}}`)

	tests := []struct {
		name    string
		keys    string
		sign    []string
		viewer  []string // verify flags for the viewer the token was issued to
		origin  string   // expected origin path
		kid     string
		session bool
		allow   []string // more verify flags that must still ALLOW
		denials []denial
	}{
		{
			name:   "ip",
			sign:   []string{"--path", "/vod/", "--exp", "+1h", "--ip", "--viewer-ip", "203.0.113.5", "--url", media},
			viewer: []string{"--viewer-ip", "203.0.113.5"},
			origin: "/vod/m1/index.m3u8",
			denials: []denial{
				{name: "other ip", viewer: []string{"--viewer-ip", "203.0.113.6"}, reason: "binding_mismatch", status: 401},
				{name: "ipv6 viewer", viewer: []string{"--viewer-ip", "2001:db8::5"}, reason: "ip_version_mismatch", status: 401},
				{name: "expired", extra: []string{"--now", unix(2 * time.Hour)}, reason: "expired", status: 401},
				{name: "expired, RFC 3339", extra: []string{"--now", time.Unix(now, 0).Add(61 * time.Minute).UTC().Format(time.RFC3339)}, reason: "expired", status: 401},
				{name: "other title", url: func(u string) string { return strings.Replace(u, "/vod/m1/", "/live/m1/", 1) }, reason: "path_not_allowed", status: 401},
				{name: "dot segments", url: func(u string) string { return strings.Replace(u, "/vod/m1/", "/vod/../live/", 1) }, reason: "path_not_allowed", status: 401},
				{name: "escape root", url: func(u string) string { return strings.Replace(u, "/vod/m1/", "/vod/../../", 1) }, reason: "bad_path", status: 401},
				{name: "POST", extra: []string{"--method", "POST"}, reason: "method_not_allowed", status: 405},
				{name: "tampered token", url: func(u string) string { return strings.Replace(u, ".eyJ", ".eyK", 1) }, reason: "", status: 401},
				{name: "unknown kid", extra: []string{"--keys", writeFile(t, "k.json", fmt.Sprintf(`{%q: %q}`, otherKID, testSecret))}, reason: "unknown_kid", status: 401},
				{name: "other secret", extra: []string{"--keys", writeFile(t, "k.json", fmt.Sprintf(`{%q: %q}`, testKID, otherSecret))}, reason: "bad_signature", status: 401},
			},
		},
		{
			name:   "ipv6 compressed, verified expanded",
			sign:   []string{"--path", "/vod/", "--exp", "+1h", "--ip", "--viewer-ip", "2001:db8::1:5", "--url", media},
			viewer: []string{"--viewer-ip", "2001:0db8:0000:0000:0000:0000:0001:0005"},
			origin: "/vod/m1/index.m3u8",
			denials: []denial{
				{name: "other ip", viewer: []string{"--viewer-ip", "2001:db8::1:6"}, reason: "binding_mismatch", status: 401},
			},
		},
		{
			name: "ssn + user-agent + referer",
			sign: []string{"--path", "/live/ch1/", "--exp", "+2h", "--ssn", "--bind-header", "user-agent", "--bind-header", "Referer",
				"-H", ua, "-H", referer, "--url", "https://cdn.example.com/live/ch1/index.m3u8"},
			viewer:  []string{"--viewer-ip", "198.51.100.10", "-H", ua, "-H", referer},
			origin:  "/live/ch1/index.m3u8",
			session: true,
			allow:   []string{"-H", "Accept: */*"},
			denials: []denial{
				{name: "other user agent", viewer: []string{"--viewer-ip", "198.51.100.10", "-H", "User-Agent: curl/8.0", "-H", referer}, reason: "binding_mismatch", status: 401},
				{name: "missing referer", viewer: []string{"--viewer-ip", "198.51.100.10", "-H", ua}, reason: "binding_mismatch", status: 401},
				{name: "session id swapped", url: swapSession, reason: "binding_mismatch", status: 401},
				{name: "session id removed", url: dropSession, reason: "binding_mismatch", status: 401},
			},
		},
		{
			name:   "country + region",
			sign:   []string{"--path", "/vod/", "--exp", "+1h", "--co", "--reg", "--country", "FR", "--region", "IDF", "--url", media},
			viewer: []string{"--viewer-ip", "192.0.2.1", "--country", "FR", "--region", "IDF"},
			origin: "/vod/m1/index.m3u8",
			allow:  []string{"--city", "Paris"},
			denials: []denial{
				{name: "other country", viewer: []string{"--viewer-ip", "192.0.2.1", "--country", "DE", "--region", "IDF"}, reason: "binding_mismatch", status: 401},
				{name: "other region", viewer: []string{"--viewer-ip", "192.0.2.1", "--country", "FR", "--region", "ARA"}, reason: "binding_mismatch", status: 401},
				{name: "geo unknown", viewer: []string{"--viewer-ip", "192.0.2.1"}, reason: "geo_unknown", status: 401},
			},
		},
		{
			name:   "city",
			sign:   []string{"--path", "/vod/", "--exp", "+1h", "--cty", "--city", "São Paulo", "--url", media},
			viewer: []string{"--viewer-ip", "192.0.2.1", "--city", "São Paulo"},
			origin: "/vod/m1/index.m3u8",
			denials: []denial{
				{name: "other city", viewer: []string{"--viewer-ip", "192.0.2.1", "--city", "Sao Paulo"}, reason: "binding_mismatch", status: 401},
			},
		},
		{
			name:   "query binding",
			sign:   []string{"--path", "/vod/", "--exp", "+1h", "--bind-query", "user", "--url", media + "?user=u-42&lang=fr"},
			viewer: []string{"--viewer-ip", "192.0.2.1"},
			origin: "/vod/m1/index.m3u8",
			denials: []denial{
				{name: "other value", url: func(u string) string { return strings.Replace(u, "u-42", "u-43", 1) }, reason: "binding_mismatch", status: 401},
				{name: "value removed", url: func(u string) string { return strings.Replace(u, "user=u-42&", "", 1) }, reason: "binding_mismatch", status: 401},
			},
		},
		{
			name:   "query binding from --query",
			sign:   []string{"--path", "/vod/", "--exp", "+1h", "--bind-query", "user", "--query", "user=u 42"},
			viewer: []string{"--viewer-ip", "192.0.2.1"},
			origin: "/vod/m1/index.m3u8",
			denials: []denial{
				{name: "no query", url: func(u string) string { return strings.TrimSuffix(u, "?user=u+42") }, reason: "binding_mismatch", status: 401},
			},
		},
		{
			name: "policy and viewer files, flags override",
			sign: []string{"--policy", policyFile, "--viewer", viewerFile, "--path", "/vod/", "--path", "/live/",
				"-H", "User-Agent: FlagPlayer/3", "--url", media},
			viewer: []string{"--viewer-ip", "203.0.113.5", "-H", "User-Agent: FlagPlayer/3"},
			origin: "/vod/m1/index.m3u8",
			denials: []denial{
				{name: "file's user agent", viewer: []string{"--viewer-ip", "203.0.113.5", "-H", "User-Agent: FilePlayer/2"}, reason: "binding_mismatch", status: 401},
				{name: "file's ip binding kept", viewer: []string{"--viewer-ip", "203.0.113.9", "-H", "User-Agent: FlagPlayer/3"}, reason: "binding_mismatch", status: 401},
			},
		},
		{
			name:   "policy file's ip binding turned off by flag",
			sign:   []string{"--policy", policyFile, "--ip=false", "--bind-header", "x-none", "--path", "/vod/", "--url", media},
			viewer: []string{"--viewer-ip", "198.51.100.77"},
			origin: "/vod/m1/index.m3u8",
		},
		{
			name:   "not before",
			sign:   []string{"--path", "/vod/", "--exp", unix(3 * time.Hour), "--nbf", unix(time.Hour), "--url", media},
			viewer: []string{"--viewer-ip", "192.0.2.1", "--now", unix(2 * time.Hour)},
			origin: "/vod/m1/index.m3u8",
			denials: []denial{
				{name: "too early", viewer: []string{"--viewer-ip", "192.0.2.1"}, reason: "not_yet_valid", status: 401},
			},
		},
		{
			name:   "clock skew",
			sign:   []string{"--path", "/vod/", "--exp", unix(time.Minute), "--url", media},
			viewer: []string{"--viewer-ip", "192.0.2.1", "--now", unix(70 * time.Second), "--clock-skew", "30s"},
			origin: "/vod/m1/index.m3u8",
			denials: []denial{
				{name: "no skew", viewer: []string{"--viewer-ip", "192.0.2.1", "--now", unix(70 * time.Second)}, reason: "expired", status: 401},
			},
		},
		{
			name:   "excluded path skips bindings",
			sign:   []string{"--path", "/vod/", "--exc", "/ads/", "--exp", "+1h", "--ip", "--viewer-ip", "203.0.113.5", "--url", "https://cdn.example.com/ads/break1/seg1.ts"},
			viewer: []string{"--viewer-ip", "198.51.100.99"},
			origin: "/ads/break1/seg1.ts",
		},
		{
			name:   "second key named with --kid",
			keys:   twoKeys,
			sign:   []string{"--kid", otherKID, "--path", "/vod/", "--exp", "+1h", "--url", media},
			viewer: []string{"--viewer-ip", "192.0.2.1"},
			origin: "/vod/m1/index.m3u8",
			kid:    otherKID,
			denials: []denial{
				{name: "key not held", extra: []string{"--keys", keys}, reason: "unknown_kid", status: 401},
			},
		},
		{
			name:    "SMDE key file signs with primary",
			keys:    smdeKeys,
			sign:    []string{"--path", "/vod/", "--exp", "+1h", "--ssn", "--session-length", "20", "--url", media},
			viewer:  []string{"--viewer-ip", "192.0.2.1"},
			origin:  "/vod/m1/index.m3u8",
			kid:     otherKID,
			session: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.keys
			if k == "" {
				k = keys
			}
			kid := tc.kid
			if kid == "" {
				kid = testKID
			}
			s := sign(t, append([]string{"--keys", k}, tc.sign...)...)
			if s.KID != kid {
				t.Errorf("kid %q, want %q", s.KID, kid)
			}
			if tc.session != (s.SessionID != "") || !strings.HasPrefix(s.Token, s.SessionID) {
				t.Errorf("session id %q for token %.20s...", s.SessionID, s.Token)
			}
			u := s.PlaybackURL
			if u == "" {
				u = "https://cdn.example.com/" + s.Token + "/vod/m1/index.m3u8?user=u+42"
			} else if !strings.Contains(u, "/"+s.Token+"/") {
				t.Fatalf("playback URL %q does not carry the token", u)
			}
			sid := s.SessionID
			if sid == "" {
				sid = "-"
			}
			want := fmt.Sprintf("ALLOW origin_path=%s session_id=%s kid=%s expires=%s", tc.origin, sid, kid, s.Expires)
			verify := func(viewer []string, extra ...string) []string {
				return append(append([]string{"token", "verify", u, "--keys", k}, viewer...), extra...)
			}
			for _, extra := range [][]string{nil, tc.allow} {
				out := mustSucceed(t, "", verify(tc.viewer, extra...)...)
				if !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 {
					t.Errorf("got  %q\nwant %q...", out, want)
				}
			}
			for _, d := range tc.denials {
				t.Run(d.name, func(t *testing.T) {
					viewer := tc.viewer
					if d.viewer != nil {
						viewer = d.viewer
					}
					args := verify(viewer, d.extra...)
					if d.url != nil {
						args[2] = d.url(u)
					}
					r := smd(t, "", args...)
					want := fmt.Sprintf("DENY reason=%s status=%d (", d.reason, d.status)
					if d.reason == "" {
						want = "DENY reason="
					}
					if r.code != 1 || r.stderr != "" || !strings.HasPrefix(r.stdout, want) || !strings.HasSuffix(r.stdout, ")\n") {
						t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", r.code, r.stdout, r.stderr, want)
					}
					if d.reason == "" && !strings.Contains(r.stdout, fmt.Sprintf("status=%d", d.status)) {
						t.Errorf("stdout %q, want status %d", r.stdout, d.status)
					}
				})
			}
		})
	}
}

// swapSession changes the first character of the session id in a URL.
func swapSession(u string) string {
	i := strings.Index(u, "://") + 3
	i += strings.IndexByte(u[i:], '/') + 1
	c := byte('A')
	if u[i] == 'A' {
		c = 'B'
	}
	return u[:i] + string(c) + u[i+1:]
}

// dropSession removes the session id and its dot from a URL.
func dropSession(u string) string {
	i := strings.Index(u, "://") + 3
	i += strings.IndexByte(u[i:], '/') + 1
	j := strings.IndexByte(u[i:], '.')
	return u[:i] + u[i+j+1:]
}
