package smdcaddy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/node"
)

// TestNATSFeed: the module fed by smd's control plane over NATS, as an
// edge is: a token from the token API plays through Caddy, a revocation
// through the API is refused by Caddy, Caddy's requests reach the access
// stream (the session's timeline shows them under Caddy's id), and Caddy
// reports itself in the edges' heartbeats.
func TestNATSFeed(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// smd serve with its NATS server on loopback for the module.
	cfg, err := config.LoadServe("", true, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.ID, cfg.DataDir = "serve", t.TempDir()
	cfg.Listen, cfg.Admin.Listen = "127.0.0.1:0", ""
	cfg.EmbeddedNATS.Listen = freeAddr(t)
	cfg.NATS.Heartbeat = config.Duration(100 * time.Millisecond)
	cfg.Routes = []config.Route{{Prefix: "/", Origin: f.origin.URL}}
	cfg.Control.PlaybackScheme = "http"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := node.StartServe(ctx, cfg, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	adminKey, err := os.ReadFile(filepath.Join(cfg.DataDir, "api-keys.admin"))
	if err != nil {
		t.Fatal(err)
	}
	api, err := client.New("http://"+n.Edge.Addr, strings.TrimSpace(string(adminKey)))
	if err != nil {
		t.Fatal(err)
	}

	addr := freeAddr(t)
	h := map[string]any{
		"handler": "smd", "id": "caddy-nats", "routes": []any{map[string]any{"prefix": "/vod/"}},
		"nats": map[string]any{
			"urls": []string{"nats://" + n.NATSAddr}, "data_dir": t.TempDir(),
			"master_key_file": filepath.Join(cfg.DataDir, "master.key"),
		},
	}
	js := caddyConfig(addr, h, proxyTo(f.origin.URL))
	run(t, js)

	if _, err := api.CreateAsset(ctx, []byte(fmt.Sprintf(`{"id": "m1", "url_path": "/vod/m1/seg1.ts", "endpoint_hostname": "%s",
		"token_policy": {"ip": true, "ssn": true, "paths": ["/vod/m1/"], "exp": "+1h"}}`, addr))); err != nil {
		t.Fatal(err)
	}
	tok, err := api.Token(ctx, "m1", nil)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "Caddy to hold the control plane's keys", func() bool { c, _ := get(t, tok.PlaybackURL); return c == 200 })
	if c, body := get(t, tok.PlaybackURL); c != 200 || body != "origin /vod/m1/seg1.ts" {
		t.Fatalf("playback through Caddy: %d %q", c, body)
	}

	if _, err := api.Revoke(ctx, tok.SessionID, "test", time.Hour); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	eventually(t, "Caddy to refuse the revoked session", func() bool { c, _ := get(t, tok.PlaybackURL); return c == 403 })
	t.Logf("revocation to refusal at Caddy: %v", time.Since(t0))

	eventually(t, "Caddy's heartbeat", func() bool {
		edges, err := api.Edges(ctx)
		if err != nil {
			return false
		}
		for _, e := range edges {
			if e.EdgeID == "caddy-nats" && e.Requests >= 2 && e.Rejected >= 1 {
				return true
			}
		}
		return false
	})
	eventually(t, "Caddy's access events in the session's timeline", func() bool {
		req, _ := http.NewRequest("GET", "http://"+n.Edge.Addr+"/v1/sessions/"+tok.SessionID+"/timeline", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(adminKey)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == 200 && strings.Contains(string(b), `"caddy-nats"`) && strings.Contains(string(b), `"revoked"`)
	})
	caddy.Stop()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
