package node

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestCaddyForwardAuth runs deploy/caddy/Caddyfile.forward_auth with
// Debian's caddy in front of smd in auth mode: a good token plays (ffmpeg
// through Caddy), bad, misbound and revoked ones are refused, the origin
// sees paths without tokens, and a revocation takes effect at once.
func TestCaddyForwardAuth(t *testing.T) {
	caddy := requireProgram(t, "caddy")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := startAuthServe(t)
	n, api, rec, originAddr := s.n, s.api, s.rec, s.originAddr

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

	p := newViaProxy(t, ctx, api, rec, addr, boundAsset)
	p.checkCommon("Caddy", 3)
}
