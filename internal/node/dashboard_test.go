package node

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smd-media/smd/internal/config"
)

// TestServeDashboard: smd serve with dashboard.enabled serves the
// dashboard at /dashboard/ beside a route "/" to the origin (media paths
// stay the origin's), with its files under /dashboard/static/; an admin
// key logs in and the dashboard's API calls work, through request
// signing too; an edge without api.url refuses dashboard.enabled.
func TestServeDashboard(t *testing.T) {
	for _, signed := range []bool{false, true} {
		name := "in-process API"
		if signed {
			name = "signed API"
		}
		t.Run(name, func(t *testing.T) {
			cfg := serveConfig(t, true, sampleOrigin(t))
			cfg.Dashboard.Enabled = true
			if signed {
				secret := filepath.Join(cfg.DataDir, "signing.secret")
				if err := os.WriteFile(secret, []byte(strings.Repeat("s", 40)), 0o600); err != nil {
					t.Fatal(err)
				}
				cfg.Control.RequestSigning.Enabled = true
				cfg.Control.RequestSigning.SecretFile = secret
			}
			n := startServe(t, cfg)
			base := "http://" + n.Edge.Addr
			if got := get(t, base+"/dashboard/"); !strings.Contains(got, "smd dashboard") {
				t.Fatalf("dashboard page: %.200q", got)
			}
			if st := status(t, base+"/dashboard/static/js/dash/app.js"); st != 200 {
				t.Errorf("dashboard script: %d", st)
			}
			if st := status(t, base+"/vod/m1/master.m3u8"); st != 401 {
				t.Errorf("media without a token: %d (the route's, not the dashboard's)", st)
			}
			key, err := os.ReadFile(filepath.Join(cfg.DataDir, "api-keys.admin"))
			if err != nil {
				t.Fatal(err)
			}
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar}
			resp, err := c.Post(base+"/dashboard/api/login", "application/json",
				strings.NewReader(`{"api_key":"`+strings.TrimSpace(string(key))+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var me struct {
				LoggedIn bool `json:"logged_in"`
				Demo     bool `json:"demo"`
			}
			if resp.StatusCode != 200 || json.Unmarshal(b, &me) != nil || !me.LoggedIn || me.Demo {
				t.Fatalf("login: %d %s", resp.StatusCode, b)
			}
			resp, err = c.Get(base + "/dashboard/api/v1/keys")
			if err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), `"primary"`) {
				t.Errorf("keys through the dashboard: %d %s", resp.StatusCode, b)
			}
		})
	}

	e, err := config.LoadEdge("", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	e.NATS.URLs = []string{"nats://127.0.0.1:4222"}
	e.DataDir = t.TempDir()
	e.Routes = []config.Route{{Prefix: "/", Origin: "http://127.0.0.1:1"}}
	e.Dashboard.Enabled = true
	if err := e.Validate(); err == nil || !strings.Contains(err.Error(), "dashboard.enabled") {
		t.Errorf("an edge without api.url: %v", err)
	}
}
