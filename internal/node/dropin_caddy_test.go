package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCaddyForwardAuth runs deploy/caddy/Caddyfile.forward_auth with
// Debian's caddy in front of smd in auth mode: a good token plays (ffmpeg
// through Caddy), bad, misbound and revoked ones are refused, the origin
// sees paths without tokens, and a revocation takes effect at once.
func TestCaddyForwardAuth(t *testing.T) {
	caddy := requireProgram(t, "caddy")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, cfg, rec, originAddr := startAuthServe(t)
	api := adminClient(t, cfg.DataDir, "http://"+n.Edge.Addr)

	dir := t.TempDir()
	addr := freeLoopback(t)
	conf := deployFile(t, "caddy/Caddyfile.forward_auth", map[string]string{
		"forward_auth 127.0.0.1:9000":   "forward_auth " + n.Edge.Addr,
		"reverse_proxy 127.0.0.1:8081":  "reverse_proxy " + originAddr,
		":80 {":                         "http://" + addr + " {",
		"/var/log/caddy/smd-access.log": filepath.Join(dir, "access.log"),
	})
	confFile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", dir) // Caddy's data and config directories
	t.Setenv("XDG_DATA_HOME", dir)
	t.Setenv("XDG_CONFIG_HOME", dir)
	startProgram(t, dir, addr, caddy, "run", "--config", confFile, "--adapter", "caddyfile")

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

	viewer := clientFrom("127.0.0.1")
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
	delays := revocationDelays(t, 3, func() (string, string) { u, s := playback(); return segment(u), s },
		func(s string) {
			if _, err := api.Revoke(ctx, s, "test", time.Hour); err != nil {
				t.Fatal(err)
			}
		}, viewer)
	t.Logf("revocation to refusal at Caddy: %v", delays)
	if med := delays[len(delays)/2]; med > 100*time.Millisecond {
		t.Errorf("median revocation delay at Caddy %v, target 100 ms", med)
	}
}
