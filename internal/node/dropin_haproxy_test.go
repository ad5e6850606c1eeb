package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHAProxyAuth runs deploy/haproxy/haproxy.cfg and smd-auth.lua with
// Debian's haproxy in front of smd in auth mode: a good token plays
// (ffmpeg through HAProxy), bad, misbound and revoked ones are refused,
// the origin sees paths without tokens, a revocation takes effect at
// once, and HAProxy fails closed when smd is away.
func TestHAProxyAuth(t *testing.T) {
	haproxy := requireProgram(t, "haproxy")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, cfg, rec, originAddr := startAuthServe(t)
	api := adminClient(t, cfg.DataDir, "http://"+n.Edge.Addr)

	dir := t.TempDir()
	addr := freeLoopback(t)
	lua := filepath.Join(dir, "smd-auth.lua")
	if err := os.WriteFile(lua, []byte(deployFile(t, "haproxy/smd-auth.lua", nil)), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := deployFile(t, "haproxy/haproxy.cfg", map[string]string{
		"/etc/haproxy/smd-auth.lua":       lua,
		"http://127.0.0.1:9000/.smd-auth": "http://" + n.Edge.Addr + "/.smd-auth",
		"server origin1 127.0.0.1:8081":   "server origin1 " + originAddr,
		"bind :80":                        "bind " + addr,
	})
	confFile := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxy, "-c", "-f", confFile).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	startProgram(t, dir, addr, haproxy, "-db", "-f", confFile)

	if _, err := api.CreateAsset(ctx, []byte(fmt.Sprintf(
		`{"id": "m1", "url_path": "/vod/m1/master.m3u8", "endpoint_hostname": "%s", "token_policy": {"ip": true, "ssn": true, "paths": ["/vod/m1/"], "exp": "+2h"}}`, addr))); err != nil {
		t.Fatal(err)
	}
	playback := func() (string, string) {
		tok, err := api.Token(ctx, "m1", nil)
		if err != nil {
			t.Fatal(err)
		}
		return tok.PlaybackURL, tok.SessionID
	}
	master, _ := playback()
	tokenSeg := strings.Split(strings.TrimPrefix(master, "http://"+addr+"/"), "/")[0]
	runFFmpeg(t, master)

	seg := segment(master)
	for _, tc := range []struct {
		name string
		url  string
		from string
		want int
	}{
		{"segment", seg, "127.0.0.1", 200},
		{"no token", strings.Replace(seg, "/"+tokenSeg+"/", "/", 1), "127.0.0.1", 401},
		{"tampered signature", strings.Replace(seg, tokenSeg, tokenSeg[:len(tokenSeg)-2]+flip(tokenSeg[len(tokenSeg)-2:]), 1), "127.0.0.1", 401},
		{"another title", strings.Replace(seg, "/vod/m1/", "/vod/m2/", 1), "127.0.0.1", 401},
		{"another viewer's address", seg, "127.0.0.2", 401},
	} {
		if got := statusOf(t, clientFrom(tc.from), tc.url); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	refusalSaysNoMore(t, clientFrom("127.0.0.1"), strings.Replace(seg, "/"+tokenSeg+"/", "/", 1))
	for _, p := range rec.all() {
		if strings.Contains(p, tokenSeg) || strings.Contains(p, "eyJ") || !strings.HasPrefix(p, "/vod/m1/") {
			t.Errorf("the origin was asked %q", p)
		}
	}
	viewer := clientFrom("127.0.0.1")
	delays := revocationDelays(t, 3, func() (string, string) { u, s := playback(); return segment(u), s },
		func(s string) {
			if _, err := api.Revoke(ctx, s, "test", time.Hour); err != nil {
				t.Fatal(err)
			}
		}, viewer)
	t.Logf("revocation to refusal at HAProxy: %v", delays)
	if med := delays[len(delays)/2]; med > 100*time.Millisecond {
		t.Errorf("median revocation delay at HAProxy %v, target 100 ms", med)
	}

	// smd away: HAProxy refuses (fails closed), it does not serve.
	good, _ := playback()
	n.Close()
	if got := statusOf(t, viewer, segment(good)); got != 503 {
		t.Errorf("smd away: %d, want 503", got)
	}
}
