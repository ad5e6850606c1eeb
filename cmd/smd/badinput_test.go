package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInput checks that every kind of bad input exits 2 with one line
// "smd: <message>" on stderr, nothing on stdout, and neither a stack trace,
// a secret nor a token.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keys := file("keys.json", fmt.Sprintf(`{%q: %q}`, testKID, testSecret))
	twoKeys := file("two.json", fmt.Sprintf(`{%q: %q, %q: %q}`, testKID, testSecret, otherKID, otherSecret))
	missing := filepath.Join(dir, "absent.json")
	policy := file("policy.json", `{"paths": ["/vod/"], "exp": "+1h"}`)
	path := vectorPath(t, "session + ua + referer, matching")
	seg := strings.Split(path, "/")[1]
	jwt := seg[strings.IndexByte(seg, '.')+1:]
	u := "https://cdn.example.com" + path

	sign := func(args ...string) []string {
		return append([]string{"token", "sign", "--keys", keys, "--path", "/vod/", "--exp", "+1h"}, args...)
	}
	verify := func(args ...string) []string {
		return append([]string{"token", "verify", u, "--keys", keys, "--viewer-ip", "192.0.2.1"}, args...)
	}
	signWith := func(args ...string) []string { return append([]string{"token", "sign"}, args...) }

	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		// Commands and flags.
		{"unknown flag", []string{"token", "sign", "--bogus"}, "", "unknown flag: --bogus"},
		{"unknown shorthand", verify("-Z"), "", "unknown shorthand flag: 'Z'"},
		{"unknown command", []string{"tokens"}, "", `unknown command "tokens" for "smd"`},
		{"unknown subcommand", []string{"token", "decode"}, "", `unknown command "decode" for "smd token"`},
		{"token as a command", []string{"token", seg}, "", `unknown command "<token>" for "smd token"`},
		{"flag without value", []string{"token", "verify", u, "--keys"}, "", "flag needs an argument: --keys"},
		{"version with argument", []string{"version", "x"}, "", `unknown command "x" for "smd version"`},
		{"verify without URL", []string{"token", "verify", "--keys", keys, "--viewer-ip", "192.0.2.1"}, "", "accepts 1 arg(s), received 0"},
		{"verify with two URLs", verify(u), "", "accepts 1 arg(s), received 2"},
		{"inspect without argument", []string{"token", "inspect"}, "", "accepts 1 arg(s), received 0"},
		{"sign with argument", sign("extra"), "", `unknown command "extra" for "smd token sign"`},
		{"demo with argument", []string{"demo", "now"}, "", `unknown command "now" for "smd demo"`},
		{"demo, port alone", []string{"demo", "--data-dir", filepath.Join(dir, "demo"), "--listen", "8080"}, "", `--listen "8080": want host:port`},
		{"demo, bad public URL", []string{"demo", "--data-dir", filepath.Join(dir, "demo"), "--listen", "127.0.0.1:0", "--public-url", "ftp://x"}, "", `--public-url "ftp://x": want http(s)://host[:port]`},
		{"demo, bad log level", []string{"demo", "--data-dir", filepath.Join(dir, "demo"), "--log-level", "loud"}, "", "--log-level"},

		// Key files.
		{"sign without --keys", signWith("--path", "/vod/", "--exp", "+1h"), "", `required flag(s) "keys" not set`},
		{"verify without --keys", []string{"token", "verify", u, "--viewer-ip", "192.0.2.1"}, "", `required flag(s) "keys" not set`},
		{"sign, missing key file", signWith("--keys", missing, "--path", "/vod/", "--exp", "+1h"), "", "key file: open " + missing + ": no such file or directory"},
		{"verify, missing key file", verify("--keys", missing), "", "key file: open " + missing + ": no such file or directory"},
		{"key file not JSON", verify("--keys", file("bad.json", `{"`+testKID+`": "`+testSecret+`"`)), "", "not valid JSON: unexpected end of file"},
		{"key file syntax error", verify("--keys", file("bad2.json", `{"`+testKID+`" "`+testSecret+`"}`)), "", "not valid JSON: syntax error at line 1"},
		{"key file empty", verify("--keys", file("empty.json", "")), "", "empty file"},
		{"key file duplicate kid", verify("--keys", file("dup.json", `{"k1": "`+testSecret+`", "k1": "`+otherSecret+`"}`)), "", `duplicate kid "k1"`},
		{"key file short secret", sign("--keys", file("short.json", `{"k1": "`+testSecret[:20]+`"}`)), "", "secret is 20 bytes long, at least 32 are needed"},
		{"key file mixed", verify("--keys", file("mixed.json", `{"k1": "`+testSecret+`", "primary": {"uuid": "k2", "value": "`+otherSecret+`"}}`)), "", "mixed formats"},
		{"several keys, no --kid", sign("--keys", twoKeys), "", "2 keys and no primary; name one by its kid"},
		{"unknown --kid", sign("--kid", "nope"), "", `no key with kid "nope"`},

		// Viewer.
		{"verify, bad --viewer-ip", []string{"token", "verify", u, "--keys", keys, "--viewer-ip", "203.0.113"}, "", `--viewer-ip: "203.0.113" is not an IP address`},
		{"verify, --viewer-ip missing", []string{"token", "verify", u, "--keys", keys}, "", `required flag(s) "viewer-ip" not set`},
		{"sign, bad --viewer-ip", sign("--viewer-ip", "999.1.1.1"), "", `--viewer-ip: "999.1.1.1" is not an IP address`},
		{"sign, ip bound without viewer ip", sign("--ip"), "", "the policy binds the viewer IP (ip): give --viewer-ip"},
		{"sign, country bound but unknown", sign("--co"), "", "sign: viewer co: country unknown"},
		{"sign, bad session id", sign("--ssn", "--session-id", "a-b"), "", "sign: viewer sessionId"},
		{"bad -H", verify("-H", "NoColon"), "", `-H "NoColon": want "Name: value"`},
		{"bad -H name", sign("-H", "Bad Name: x"), "", `want "Name: value"`},
		{"bad --query", sign("--query", "novalue"), "", `--query "novalue": want name=value`},
		{"viewer file missing", sign("--viewer", missing), "", "viewer file: open "},
		{"viewer file unknown field", sign("--viewer", file("v.json", `{"ip": "192.0.2.1", "asn": 1}`)), "", `unknown field "asn"`},
		{"viewer file bad ip", sign("--viewer", file("v2.json", `{"ip": "x"}`)), "", `viewer file ` + filepath.Join(dir, "v2.json") + `: ip: "x" is not an IP address`},
		{"viewer file trailing data", sign("--viewer", file("v3.json", `{} {}`)), "", "data after the JSON object"},

		// Policy.
		{"policy file missing", signWith("--keys", keys, "--policy", missing), "", "policy file: open "},
		{"policy not JSON", signWith("--keys", keys, "--policy", file("p1.json", `{"paths": ["/vod/"],`)), "", "policy file " + filepath.Join(dir, "p1.json") + ": token policy:"},
		{"policy not JSON with flags", signWith("--keys", keys, "--policy", file("p2.json", `{"paths": ["/vod/"],`), "--exp", "+1h"), "", "policy file"},
		{"policy not an object", signWith("--keys", keys, "--policy", file("p3.json", `["/vod/"]`), "--exp", "+1h"), "", "not a JSON object"},
		{"policy unknown field", signWith("--keys", keys, "--policy", file("p4.json", `{"paths": ["/vod/"], "exp": "+1h", "geo": true}`)), "", `unknown field "geo"`},
		{"policy unknown field with flags", signWith("--keys", keys, "--policy", file("p5.json", `{"paths": ["/vod/"], "geo": true}`), "--exp", "+1h"), "", `unknown field "geo"`},
		{"policy wrong type", signWith("--keys", keys, "--policy", file("p6.json", `{"paths": "/vod/", "exp": "+1h"}`)), "", "token policy:"},
		{"policy without paths", signWith("--keys", keys, "--exp", "+1h"), "", "paths: at least one path prefix is needed"},
		{"policy path not absolute", sign("--path", "vod/"), "", `paths: "vod/" must start with '/'`},
		{"policy from stdin", signWith("--keys", keys, "--policy", "-"), `{"paths": []}`, "paths: at least one"},
		{"policy and viewer from stdin", signWith("--keys", keys, "--policy", "-", "--viewer", "-"), `{}`, "cannot both read standard input"},
		{"bad --exp", sign("--exp", "+2x"), "", `exp: "+2x" is not unix seconds or "+N" with s, m, h or d`},
		{"missing --exp", signWith("--keys", keys, "--path", "/vod/"), "", "exp: missing"},
		{"bad --exp in file", signWith("--keys", keys, "--policy", policy, "--exp", "tomorrow"), "", `exp: "tomorrow"`},
		{"bad --nbf", sign("--nbf", "+1h"), "", `nbf: "+1h" is not unix seconds`},
		{"bad --session-length", sign("--ssn", "--session-length", "3"), "", "--session-length: 3 is not from 7 to 200"},
		{"bad --bind-header", sign("--bind-header", "user agent"), "", `headers: "user agent" is not a header name`},
		{"bad --url", sign("--url", "ftp://cdn.example.com/vod/m1/index.m3u8"), "", "want http(s)://host/path"},

		// Verify's request.
		{"verify, not a URL", []string{"token", "verify", "cdn.example.com/x", "--keys", keys, "--viewer-ip", "192.0.2.1"}, "", "URL: want http(s)://host/<token>/path"},
		{"verify, bad URL escape", []string{"token", "verify", "https://cdn.example.com/" + seg + "/a%zz", "--keys", keys, "--viewer-ip", "192.0.2.1"}, "", `URL: invalid URL escape "%zz"`},
		{"verify, bad --now", verify("--now", "yesterday"), "", `--now: "yesterday" is not RFC 3339`},
		{"verify, bad relative --now", verify("--now", "+2x"), "", `--now: "+2x" is not a duration`},
		{"verify, negative --clock-skew", verify("--clock-skew", "-1s"), "", "--clock-skew: -1s is negative"},
		{"verify, bad --clock-skew", verify("--clock-skew", "soon"), "", `invalid argument "soon" for "--clock-skew" flag`},

		// Inspect.
		{"inspect garbage", []string{"token", "inspect", "aaaa.bbbb.cccc"}, "", "cannot decode the token: token: malformed"},
		{"inspect tampered payload", []string{"token", "inspect", strings.Replace(seg, ".eyJ", ".eyK", 2)}, "", "cannot decode the token"},
		{"inspect empty input", []string{"token", "inspect", "-"}, "\n", "no token found"},
		{"inspect URL without path", []string{"token", "inspect", "https://cdn.example.com"}, "", "no token found"},
		{"inspect bad --now", []string{"token", "inspect", "--now", "x", seg}, "", `--now: "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := smd(t, tc.stdin, tc.args...)
			if r.code != 2 {
				t.Errorf("exit %d, want 2", r.code)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
			if !strings.HasPrefix(r.stderr, "smd: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
				t.Errorf("stderr %q, want one line \"smd: ...\"", r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q\nlacks %q", r.stderr, tc.want)
			}
			for _, bad := range []string{"goroutine", "panic", testSecret, otherSecret, testSecret[:20], jwt} {
				if strings.Contains(r.stderr, bad) {
					t.Errorf("stderr %q shows %.20q", r.stderr, bad)
				}
			}
		})
	}
}
