package smde

import (
	"strings"
	"testing"
	"time"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		name, json, err string
	}{
		{"smde asset policy", `{"ip":false,"co":true,"cty":false,"reg":false,"co_fallback":true,"cty_fallback":false,"reg_fallback":false,"ssn":true,"session_auto_generate":"12","headers":["user-agent","referer"],"querystrings":["user"],"paths":["/vod/"],"exc":["/ads/"],"exp":"+2h"}`, ""},
		{"numeric exp and nbf", `{"paths":["/a/"],"exp":1900000000,"nbf":1800000000}`, ""},
		{"exp in days", `{"paths":["/a/"],"exp":"+7d"}`, ""},
		{"duplicate key", `{"paths":["/a/"],"exp":"+1h","paths":["/"]}`, "duplicate key"},
		{"trailing data", `{"paths":["/a/"],"exp":"+1h"}{}`, "data after"},
		{"unknown field", `{"paths":["/a/"],"exp":"+1h","ipp":true}`, "unknown field"},
		{"not an object", `["/a/"]`, "not a JSON object"},
		{"invalid UTF-8", "{\"paths\":[\"/\xff/\"],\"exp\":\"+1h\"}", "invalid JSON"},
		{"no paths", `{"exp":"+1h"}`, "paths"},
		{"relative path", `{"paths":["vod/"],"exp":"+1h"}`, "must start with '/'"},
		{"relative exclusion", `{"paths":["/vod/"],"exc":["ads"],"exp":"+1h"}`, "exc"},
		{"no exp", `{"paths":["/a/"]}`, "exp: missing"},
		{"bad exp unit", `{"paths":["/a/"],"exp":"+2x"}`, "exp"},
		{"zero exp", `{"paths":["/a/"],"exp":"+0h"}`, "exp"},
		{"signed exp", `{"paths":["/a/"],"exp":"+-2h"}`, "exp"},
		{"negative exp", `{"paths":["/a/"],"exp":-5}`, "exp"},
		{"float exp", `{"paths":["/a/"],"exp":1.5}`, "not a string or an integer"},
		{"bad nbf", `{"paths":["/a/"],"exp":"+1h","nbf":"soon"}`, "nbf"},
		{"short session", `{"paths":["/a/"],"exp":"+1h","ssn":true,"session_auto_generate":6}`, "session_auto_generate"},
		{"long session", `{"paths":["/a/"],"exp":"+1h","ssn":true,"session_auto_generate":201}`, "session_auto_generate"},
		{"bad header name", `{"paths":["/a/"],"exp":"+1h","headers":["user agent"]}`, "headers"},
		{"empty query name", `{"paths":["/a/"],"exp":"+1h","querystrings":[""]}`, "querystrings"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tc.json))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestPolicyExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for in, want := range map[IntString]int64{
		"+90s": 1_800_000_090, "+15m": 1_800_000_900, "+2h": 1_800_007_200, "+1d": 1_800_086_400, "1900000000": 1_900_000_000,
	} {
		p := Policy{Expiry: in}
		if got, err := p.expiry(now); err != nil || got != want {
			t.Errorf("%s: %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestSessionIDs(t *testing.T) {
	s := &Signer{}
	seen := map[string]bool{}
	for _, n := range []int{7, 12, 200} {
		for i := 0; i < 50; i++ {
			id, err := s.sessionID(n)
			if err != nil {
				t.Fatal(err)
			}
			if len(id) != n || !ValidSessionID(id) || strings.Trim(id, sessionAlphabet) != "" {
				t.Fatalf("bad session id %q", id)
			}
			if seen[id] {
				t.Fatalf("session id %q drawn twice", id)
			}
			seen[id] = true
		}
	}
}

func TestViewerJSON(t *testing.T) {
	v, err := ParseViewer([]byte(`{"ip":"2001:db8::1","co":"FR","reg":"IDF","cty":"Paris","sessionId":"abc","headers":{"user-agent":"P"},"qs":{"user":"u"}}`))
	if err != nil || v.Country != "FR" || v.SessionID != "abc" || v.Headers["user-agent"] != "P" || v.Query["user"] != "u" {
		t.Fatalf("%+v, %v", v, err)
	}
	if _, err := ParseViewer([]byte(`{"ip":"1.2.3.4","ip":"5.6.7.8"}`)); err == nil {
		t.Fatal("duplicate viewer field accepted")
	}
}
