package node

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
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
	s := startAuthServe(t)
	n, api, rec, originAddr := s.n, s.api, s.rec, s.originAddr

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

	p := newViaProxy(t, ctx, api, rec, addr, boundAsset)
	p.checkCommon("HAProxy", 3)

	// smd away: HAProxy refuses (fails closed), it does not serve.
	good, _ := p.playback("m1")
	n.Close()
	if got := statusOf(t, clientFrom("127.0.0.1"), segment(good)); got != 503 {
		t.Errorf("smd away: %d, want 503", got)
	}
}
