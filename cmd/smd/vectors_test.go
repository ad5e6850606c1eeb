package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// vector is one case of token/smde/testdata/smde-public.json, made with
// SMDE's SDK.
type vector struct {
	Name    string            `json:"name"`
	Keys    map[string]string `json:"keys"`
	Request struct {
		Method  string            `json:"method"`
		IP      string            `json:"ip"`
		Headers map[string]string `json:"headers"`
		Country string            `json:"country"`
		Region  string            `json:"region"`
		City    string            `json:"city"`
		Path    string            `json:"path"`
	} `json:"request"`
	Expect struct {
		Status      int    `json:"status"`
		StatusAnyOf []int  `json:"status_any_of"`
		OriginPath  string `json:"origin_path"`
		SessionID   string `json:"session_id"`
	} `json:"expect"`
}

// vectorNow is within the vectors' "any time between 2025 and 2099".
const vectorNow = "2026-11-22T12:00:00Z"

func loadVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile("../../token/smde/testdata/smde-public.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f.Vectors
}

// verifyArgs is the command line that replays a vector's request.
func (v *vector) verifyArgs(keyFile string) []string {
	args := []string{"token", "verify", "https://cdn.example.com" + v.Request.Path,
		"--keys", keyFile, "--viewer-ip", v.Request.IP, "--method", v.Request.Method, "--now", vectorNow}
	for flag, val := range map[string]string{"--country": v.Request.Country, "--region": v.Request.Region, "--city": v.Request.City} {
		if val != "" {
			args = append(args, flag, val)
		}
	}
	names := make([]string, 0, len(v.Request.Headers))
	for name := range v.Request.Headers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		args = append(args, "-H", name+": "+v.Request.Headers[name])
	}
	return args
}

// TestSMDEVectors replays every vector through "smd token verify" with the
// vector's keys written to a key file.
func TestSMDEVectors(t *testing.T) {
	vectors := loadVectors(t)
	if len(vectors) < 41 {
		t.Fatalf("only %d vectors", len(vectors))
	}
	keyFiles := map[string]string{} // key file per key set, shared by the subtests
	dir := t
	sawNamed := false
	for _, v := range vectors {
		t.Run(v.Name, func(t *testing.T) {
			kb, err := json.Marshal(v.Keys)
			if err != nil {
				t.Fatal(err)
			}
			kf, ok := keyFiles[string(kb)]
			if !ok {
				kf = writeFile(dir, "keys.json", string(kb))
				keyFiles[string(kb)] = kf
			}
			r := smd(t, "", v.verifyArgs(kf)...)
			if r.stderr != "" {
				t.Fatalf("stderr: %s", r.stderr)
			}
			want := v.Expect.StatusAnyOf
			if v.Expect.Status != 0 {
				want = []int{v.Expect.Status}
			}
			if slices.Equal(want, []int{200}) {
				sid := v.Expect.SessionID
				if sid == "" {
					sid = "-"
				}
				prefix := fmt.Sprintf("ALLOW origin_path=%s session_id=%s kid=", v.Expect.OriginPath, sid)
				if r.code != 0 || !strings.HasPrefix(r.stdout, prefix) {
					t.Fatalf("exit %d, %q; want exit 0 and %q...", r.code, r.stdout, prefix)
				}
				if v.Name == "session + ua + referer, matching" {
					sawNamed = true
					if !strings.Contains(r.stdout, " session_id=Sess1onAbc123 ") {
						t.Errorf("%q lacks the session id", r.stdout)
					}
				}
				return
			}
			ok = false
			for _, s := range want {
				ok = ok || strings.Contains(r.stdout, fmt.Sprintf(" status=%d ", s))
			}
			if r.code != 1 || !strings.HasPrefix(r.stdout, "DENY reason=") || !ok {
				t.Fatalf("exit %d, %q; want exit 1 and DENY with status %v", r.code, r.stdout, want)
			}
		})
	}
	if !sawNamed {
		t.Error(`vector "session + ua + referer, matching" not found or not accepted`)
	}
}

// TestSMDEVectorSecretsManagerKeys checks the named vector with the keys in
// SMDE's Secrets Manager export form.
func TestSMDEVectorSecretsManagerKeys(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.Name != "session + ua + referer, matching" {
			continue
		}
		ids := make([]string, 0, 2)
		for id := range v.Keys {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		sm := map[string]map[string]string{}
		for i, id := range ids {
			sm[[]string{"primary", "secondary"}[i]] = map[string]string{"uuid": id, "value": v.Keys[id]}
		}
		b, err := json.Marshal(sm)
		if err != nil {
			t.Fatal(err)
		}
		out := mustSucceed(t, "", v.verifyArgs(writeFile(t, "sm.json", string(b)))...)
		want := "ALLOW origin_path=/live/ch1/index.m3u8 session_id=Sess1onAbc123 kid=20269276_70676e43e91ae1bfce5b expires=2100-01-01T00:00:00Z\n"
		if out != want {
			t.Errorf("got  %q\nwant %q", out, want)
		}
		return
	}
	t.Fatal("vector not found")
}
