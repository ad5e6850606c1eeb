package smde

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/smd-media/smd/token"
)

// vectorTargets returns the request targets of the SMDE vectors, as seeds.
func vectorTargets(f *testing.F) []string {
	raw, err := os.ReadFile("testdata/smde-public.json")
	if err != nil {
		f.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		f.Fatal(err)
	}
	var out []string
	for _, v := range vf.Vectors {
		out = append(out, v.Request.Path)
	}
	return out
}

// FuzzVerify feeds arbitrary request targets to the verifier: it must never
// panic, and whatever it accepts must carry a normalized origin path inside
// the token's paths or exclusions.
func FuzzVerify(f *testing.F) {
	for _, s := range vectorTargets(f) {
		f.Add(s, "198.51.100.10")
	}
	f.Add("/"+craft(stdHeader, payload(`,"x":[{"a":{}}]`), nil)+"/vod/%2e/a", "::1")
	keys := token.NewKeys(map[string]string{
		"20269276_70676e43e91ae1bfce5b": "71f2c0c6c720023b4df07763102ad57e8136175b9643028937232894a42f1799ea0562d300f97fce48c36bbae056eed66953966927c75915050d10070a45f8dd",
		"k1":                            caseSecret,
	})
	v := NewVerifier(Options{})
	f.Fuzz(func(t *testing.T, target, ip string) {
		req := &token.Request{Method: "GET", Target: target, Header: http.Header{}, Now: vectorNow}
		req.IP, _ = netip.ParseAddr(ip)
		g, err := v.Verify(req, keys)
		if err != nil {
			if token.ReasonOf(err) == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if n, err := token.NormalizePath(g.OriginPath); err != nil || n != g.OriginPath {
			t.Fatalf("origin path %q not normalized", g.OriginPath)
		}
		seg, _, _, _ := SplitTarget(target)
		tok, err := Parse(seg)
		if err != nil {
			t.Fatalf("accepted a token Parse refuses: %v", err)
		}
		list := tok.Claims.Paths
		if g.Excluded {
			list = tok.Claims.Exclusions
		}
		if !hasPrefix(g.OriginPath, list) {
			t.Fatalf("origin path %q outside %q", g.OriginPath, list)
		}
	})
}

// FuzzParse: Parse never panics on any segment, and what it accepts
// re-encodes to claims that parse back the same.
func FuzzParse(f *testing.F) {
	for _, s := range vectorTargets(f) {
		seg, _, _, _ := SplitTarget(s)
		f.Add(seg)
	}
	f.Fuzz(func(t *testing.T, seg string) {
		tok, err := Parse(seg)
		if err != nil {
			return
		}
		c := tok.Claims
		again, err := ParseClaims(encodeClaims(c))
		if err != nil {
			t.Fatalf("re-encoded claims refused: %v", err)
		}
		// Absent lists come back empty, so compare encodings, which
		// must be a fixed point, and the claims that matter one by one.
		if a, b := encodeClaims(c), encodeClaims(again); !bytes.Equal(a, b) {
			t.Fatalf("claims changed on re-encoding:\n%s\n%s", a, b)
		}
		if again.Expiry != c.Expiry || again.NotBefore != c.NotBefore || !reflect.DeepEqual(again.intsig, c.intsig) ||
			strings.Join(again.Paths, "\x00") != strings.Join(c.Paths, "\x00") ||
			strings.Join(again.headerKeys, "\x00") != strings.Join(c.headerKeys, "\x00") {
			t.Fatalf("claims changed on re-encoding:\n%+v\n%+v", c, again)
		}
	})
}

// FuzzClaimsJSON compares the strict reader with encoding/json: whatever
// the strict reader accepts, encoding/json must accept with equal values.
func FuzzClaimsJSON(f *testing.F) {
	f.Add([]byte(payload(`,"intsig":"cgS5Io8-MSsdXFieoT4wiFpnE94bcUyLxOm02nubaRs","ip":true,"ip_ver":6`)[0:0]))
	f.Add([]byte(payload("")))
	f.Add([]byte(`{"exp":1,"paths":["/\u00e9\ud83d\ude00\n"],"x":[1,-0.5e+3,{"y":null}]}`))
	f.Add([]byte(`{"exp":1,"paths":[],"exp":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseClaims(b)
		if err != nil {
			return
		}
		var std struct {
			IP      bool     `json:"ip"`
			Exp     int64    `json:"exp"`
			Headers []string `json:"headers"`
			Paths   []string `json:"paths"`
			Exc     []string `json:"exc"`
			Nbf     int64    `json:"nbf"`
		}
		// encoding/json matches struct fields without regard to case,
		// while the token's JSON (like JSON.parse in the CloudFront
		// function) is case-sensitive: "eXC" is an unknown member, not
		// "exc". So read the members into a map first, whose keys are
		// exact, and decode only the exact names.
		var members map[string]json.RawMessage
		if err := json.Unmarshal(b, &members); err != nil {
			t.Fatalf("strict reader accepted what encoding/json refuses (%v): %q", err, b)
		}
		exact := map[string]any{"ip": &std.IP, "exp": &std.Exp, "headers": &std.Headers,
			"paths": &std.Paths, "exc": &std.Exc, "nbf": &std.Nbf}
		for name, dst := range exact {
			raw, ok := members[name]
			if !ok {
				continue
			}
			if err := json.Unmarshal(raw, dst); err != nil {
				t.Fatalf("strict reader accepted what encoding/json refuses (%s: %v): %q", name, err, b)
			}
		}
		if std.IP != c.IP || std.Exp != c.Expiry || std.Nbf != c.NotBefore ||
			strings.Join(std.Paths, "\x00") != strings.Join(c.Paths, "\x00") ||
			strings.Join(std.Headers, "\x00") != strings.Join(c.Headers, "\x00") ||
			strings.Join(std.Exc, "\x00") != strings.Join(c.Exclusions, "\x00") {
			t.Fatalf("readers disagree on %q:\n%+v\n%+v", b, std, c)
		}
	})
}
