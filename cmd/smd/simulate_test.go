package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/node"
	"github.com/smd-media/smd/internal/origin"
)

func TestSimulateBadInput(t *testing.T) {
	key := writeFile(t, "key", "smd_admin_0123456789abcdef\n")
	base := []string{"simulate", "--edge", "http://127.0.0.1:1", "--api-key-file", key}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no key", []string{"simulate", "--edge", "http://127.0.0.1:1"}, "no API key"},
		{"bad key file", []string{"simulate", "--key-file", writeFile(t, "k", "two words\n")}, "want one line"},
		{"edge", append(base, "--edge", "127.0.0.1:8080"), "--edge: "},
		{"duration", append(base, "--duration", "0s"), "--duration: "},
		{"legit", append(base, "--legit", "-3"), "--legit: "},
		{"fractions", append(base, "--legit-ip-change", "0.7", "--legit-home", "0.7"), "--legit-home: "},
		{"share ips word", append(base, "--share-ips", "many"), `--share-ips: "many" is not K or MIN..MAX`},
		{"share ips 1", append(base, "--share-ips", "1..4"), "--share-ips: 1..4"},
		{"status", append(base, "--blocked-status", "200"), "--blocked-status: "},
		{"nobody", append(base, "--legit", "0", "--shared", "0", "--restreamers", "0"), "sessions in all"},
		{"argument", append(base, "extra"), "unknown command"},
		{"unreachable", base, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) { mustFail(t, "", tc.want, tc.args...) })
	}
}

// TestSimulateCommand runs smd simulate briefly against a whole smd serve
// (in this process) and reads its JSON report.
func TestSimulateCommand(t *testing.T) {
	o, err := origin.New(origin.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o)
	defer srv.Close()
	cfg, err := config.LoadServe("", true, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.ID, cfg.DataDir = "sim", t.TempDir()
	cfg.Listen, cfg.Admin.Listen = "127.0.0.1:0", ""
	cfg.TrustedProxies = []string{"127.0.0.1/32"}
	cfg.Geo.Source = "headers"
	cfg.Routes = []config.Route{{Prefix: "/", Origin: srv.URL}}
	cfg.Control.PlaybackScheme = "http"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, err := node.StartServe(ctx, cfg, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	r := smd(t, "", "simulate", "--edge", "http://"+n.Edge.Addr, "--api-key-file", filepath.Join(cfg.DataDir, "api-keys.admin"),
		"--duration", "3s", "--legit", "2", "--shared", "0", "--restreamers", "0", "--seed", "42",
		"--scorer-label", "cli", "--json", "--check-targets")
	if r.code != 0 || !strings.HasPrefix(r.stderr, "smd simulate: 2 sessions for 3s against http://") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	var rep struct {
		Scorer   string         `json:"scorer"`
		Seed     int64          `json:"seed"`
		Legit    int            `json:"legit"`
		Requests int            `json:"requests"`
		Status   map[string]int `json:"status"`
		Targets  []struct {
			Met bool `json:"met"`
		} `json:"targets"`
		Sessions []struct {
			Kind    string `json:"kind"`
			Devices []struct {
				IP string `json:"ip"`
			} `json:"devices"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Scorer != "cli" || rep.Seed != 42 || rep.Legit != 2 || rep.Requests == 0 || rep.Status["200"] != rep.Requests ||
		len(rep.Targets) != 3 || len(rep.Sessions) != 2 || rep.Sessions[0].Devices[0].IP == "" {
		t.Errorf("report: %s", r.stdout)
	}
}
