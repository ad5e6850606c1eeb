package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// vectorPath returns the request path of the named vector.
func vectorPath(t *testing.T, name string) string {
	t.Helper()
	for _, v := range loadVectors(t) {
		if v.Name == name {
			return v.Request.Path
		}
	}
	t.Fatalf("no vector %q", name)
	return ""
}

// oneSpace collapses runs of spaces, so that checks ignore column widths.
func oneSpace(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

func TestInspect(t *testing.T) {
	path := vectorPath(t, "session + ua + referer, matching") // exp 2100-01-01T00:00:00Z
	seg := strings.Split(path, "/")[1]
	commonWant := []string{
		"WARNING: signature NOT checked",
		"\nsession id Sess1onAbc123\n",
		"\nalg HS256\n",
		"\ntyp JWT\n",
		"\nkid 20269276_70676e43e91ae1bfce5b\n",
		"\nnbf -\n",
		"\niat 1795354415 2026-11-22T13:33:35Z (",
		"\npaths /live/ch1/\n",
		"\nexc -\n",
		"\nip false\n",
		"\nco false\n",
		"\ncty false\n",
		"\nreg false\n",
		"\nssn true\n",
		"\nheaders user-agent, referer\n",
		"\nqs -\n",
		"\nintsig cgS5Io8-MSsdXFieoT4wiFpnE94bcUyLxOm02nubaRs\n",
	}
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  []string
	}{
		{"URL", []string{"https://cdn.example.com" + path + "?user=1#t=10", "--now", "2099-12-31T22:00:00Z"}, "",
			[]string{"\nexp 4102444800 2100-01-01T00:00:00Z (in 2h0m)\n"}},
		{"path", []string{path, "--now", "4102452000"}, "",
			[]string{"\nexp 4102444800 2100-01-01T00:00:00Z (expired 2h0m ago)\n"}},
		{"bare token", []string{seg, "--now", "4102444770"}, "",
			[]string{"(in 30s)"}},
		{"standard input", []string{"-", "--now", "4102444800"}, "  https://cdn.example.com" + path + "\n",
			[]string{"(expired 0s ago)"}},
		{"days away", []string{seg, "--now", "4101580800"}, "",
			[]string{"(in 10d0h)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := oneSpace(mustSucceed(t, tc.stdin, append([]string{"token", "inspect"}, tc.args...)...))
			if !strings.HasPrefix(out, "WARNING: signature NOT checked") {
				t.Errorf("output does not open with the warning:\n%s", out)
			}
			for _, w := range append(commonWant, tc.want...) {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestInspectUncheckedToken(t *testing.T) {
	// inspect decodes what verify refuses; the warning says so.
	out := oneSpace(mustSucceed(t, "", "token", "inspect", vectorPath(t, "alg none")))
	for _, w := range []string{"WARNING: signature NOT checked", "\nalg none\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestInspectSigned(t *testing.T) {
	keys := writeFile(t, "keys.json", `{"`+testKID+`": "`+testSecret+`"}`)
	s := sign(t, "--keys", keys, "--path", "/vod/", "--exc", "/ads/", "--exp", "4102444800", "--nbf", "4102441200",
		"--ip", "--viewer-ip", "2001:db8::1", "--co", "--co-fallback", "--reg", "--reg-fallback", "--country", "FR",
		"--bind-query", "user", "--query", "user=42")
	out := oneSpace(mustSucceed(t, "", "token", "inspect", "--now", "4102437600", s.Token))
	for _, w := range []string{
		"\nnbf 4102441200 2099-12-31T23:00:00Z (in 1h0m)\n",
		"\nexp 4102444800 2100-01-01T00:00:00Z (in 2h0m)\n",
		"\nip true\nip_ver 6\n",
		"\nco true\nco_fallback true\n",
		"\nreg true\nreg_fallback true\n",
		"\nqs user\n",
		"\nexc /ads/\n",
		"\nsession id -\n",
		"\nkid " + testKID + "\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestInspectJSON(t *testing.T) {
	path := vectorPath(t, "session + ua + referer, matching")
	out := mustSucceed(t, "", "token", "inspect", "--json", "--now", "2099-12-31T22:00:00Z", path)
	var got struct {
		SignatureChecked *bool  `json:"signature_checked"`
		Warning          string `json:"warning"`
		SessionID        string `json:"session_id"`
		Header           struct {
			Alg, Typ, Kid string
		} `json:"header"`
		Claims struct {
			Ssn     bool     `json:"ssn"`
			Exp     int64    `json:"exp"`
			Headers []string `json:"headers"`
			Paths   []string `json:"paths"`
		} `json:"claims"`
		Times map[string]struct {
			Unix     int64  `json:"unix"`
			UTC      string `json:"utc"`
			Relative string `json:"relative"`
		} `json:"times"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	switch {
	case got.SignatureChecked == nil || *got.SignatureChecked:
		t.Error("signature_checked is not false")
	case !strings.Contains(got.Warning, "NOT checked"):
		t.Errorf("warning %q", got.Warning)
	case got.SessionID != "Sess1onAbc123" || got.Header.Kid != "20269276_70676e43e91ae1bfce5b" || got.Header.Alg != "HS256":
		t.Errorf("session or header: %+v %+v", got.SessionID, got.Header)
	case !got.Claims.Ssn || got.Claims.Exp != 4102444800 || strings.Join(got.Claims.Headers, ",") != "user-agent,referer" ||
		strings.Join(got.Claims.Paths, ",") != "/live/ch1/":
		t.Errorf("claims %+v", got.Claims)
	case got.Times["exp"].UTC != "2100-01-01T00:00:00Z" || got.Times["exp"].Relative != "in 2h0m" || got.Times["iat"].Unix != 1795354415:
		t.Errorf("times %+v", got.Times)
	}
	if _, ok := got.Times["nbf"]; ok {
		t.Error("nbf given for a token without one")
	}
}
