package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/node"
	"github.com/smd-media/smd/internal/origin"
)

func TestSimulateBadInput(t *testing.T) {
	key := writeFile(t, "key", "smd_admin_0123456789abcdef\n")
	base := []string{"simulate", "--edge", "http://127.0.0.1:1", "--api-key-file", key, "--scenario", "classic"}
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
		{"nobody", append(base, "--legit", "0", "--shared", "0", "--restreamers", "0", "--impersonators", "0"), "sessions in all"},
		{"impersonators without victims", append(base, "--legit", "0"), "--impersonators: 1 impersonators need legitimate sessions"},
		{"scenario", append(base, "--scenario", "nope"), `--scenario: "nope" is not one of default, classic, hiding, hard-legit`},
		{"wide", append(base, "--wide", "-1"), "--wide: -1 is negative"},
		{"wide ips", append(base, "--wide-ips", "1"), "--wide-ips: 1: want 2 to 64"},
		{"wide every", append(base, "--wide-every", "0s"), "--wide-every: 0s: want 1s to 1h"},
		{"too many wide addresses", append(base, "--wide", "20", "--wide-ips", "30"), "--wide: 20 tokens of 30 addresses: at most 512 addresses in all"},
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
		"--duration", "3s", "--scenario", "classic", "--legit", "2", "--shared", "0", "--restreamers", "0", "--impersonators", "1", "--seed", "42",
		"--scorer-label", "cli", "--json", "--check-targets")
	if r.code != 0 || !strings.HasPrefix(r.stderr, "smd simulate: 3 sessions for 3s against http://") {
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
		Scorers []any  `json:"scorers"`
		Note    string `json:"scorers_note"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	// An external stack: no per-scorer table, and the report says why.
	if rep.Scorer != "cli" || rep.Seed != 42 || rep.Legit != 2 || rep.Requests == 0 || rep.Status["200"] != rep.Requests ||
		len(rep.Targets) != 5 || len(rep.Sessions) != 3 || rep.Sessions[0].Devices[0].IP == "" || rep.Sessions[2].Kind != "impersonator" ||
		rep.Scorers != nil || !strings.Contains(rep.Note, "external") {
		t.Errorf("report: %s", r.stdout)
	}
}

// TestSimulateServeBadFlags checks the flags of --serve: those of an
// external stack are refused with it, its own without it, and a bad
// detector is named before any stack starts.
func TestSimulateServeBadFlags(t *testing.T) {
	key := writeFile(t, "key", "smd_admin_0123456789abcdef\n")
	conf := func(yaml string) string { return writeFile(t, "detector.yaml", yaml) }
	serve := func(args ...string) []string { return append([]string{"simulate", "--serve"}, args...) }
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"edge", serve("--edge", "http://127.0.0.1:8080"), "--edge: not with --serve, which runs a stack of its own"},
		{"api", serve("--api", "http://127.0.0.1:8080"), "--api: not with --serve"},
		{"api key file", serve("--api-key-file", key), "--api-key-file: not with --serve"},
		{"key file", serve("--key-file", key), "--key-file: not with --serve"},
		{"asset", serve("--asset", "a1"), "--asset: not with --serve"},
		{"scorer label", serve("--scorer-label", "x"), "--scorer-label: not with --serve"},
		{"blocked status", serve("--blocked-status", "410"), "--blocked-status: not with --serve"},
		{"scorer without serve", []string{"simulate", "--api-key-file", key, "--scorer", "smde"}, "--scorer: only with --serve"},
		{"config without serve", []string{"simulate", "--detector-config", conf("detector: {}")}, "--detector-config: only with --serve"},
		{"unknown scorer", serve("--scorer", "nope"), `--scorer: "nope" is not one of smde, concurrency`},
		{"no config file", serve("--detector-config", filepath.Join(t.TempDir(), "none.yaml")), "--detector-config: config: open"},
		{"unknown key", serve("--detector-config", conf("detector: {colour: red}")), "--detector-config: config "},
		{"bad value", serve("--detector-config", conf("detector: {smde: {score_threshold: 1}}")), "detector.smde.score_threshold: must be a finite number > 1"},
		{"shadow is active", serve("--detector-config", conf("detector: {scorer: smde, shadow: [smde]}")), `detector.shadow[0]: "smde" is the active scorer`},
		{"detector off", serve("--detector-config", conf("detector: {enabled: false}")), "detector.enabled: false, but --serve measures the detector"},
		{"log level", serve("--log-level", "loud"), `--log-level: "loud" is not debug, info, warn, error or off`},
		{"duration", serve("--duration", "0s"), "--duration: "},
		{"share ips", serve("--share-ips", "1"), "--share-ips: 1..1"},
	} {
		t.Run(tc.name, func(t *testing.T) { mustFail(t, "", tc.want, tc.args...) })
	}
}

// TestSimulateServe runs smd simulate --serve briefly with a detector
// configuration and another active scorer: the JSON report has a row per
// scorer, and the stack's temporary directory is gone afterwards.
func TestSimulateServe(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	conf := writeFile(t, "smd.yaml", "detector: {interval: 500ms, concurrency: {min_sessions: 2}}\n")
	r := smd(t, "", "simulate", "--serve", "--scorer", "smde", "--detector-config", conf,
		"--duration", "3s", "--scenario", "classic", "--legit", "2", "--shared", "1", "--share-ips", "3", "--restreamers", "0", "--impersonators", "0", "--seed", "42", "--json")
	if r.code != 0 || !strings.HasPrefix(r.stderr, "smd simulate: 3 sessions for 3s against a stack of its own at http://127.0.0.1:") ||
		!strings.Contains(r.stderr, "(scorer smde, shadow concurrency)") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	var rep struct {
		Scorer  string `json:"scorer"`
		Legit   int    `json:"legit"`
		Shared3 int    `json:"shared_3plus"`
		Scorers []struct {
			Scorer   string `json:"scorer"`
			Role     string `json:"role"`
			Flagged  *int   `json:"flagged"`
			Recall   *float64
			Decision *int `json:"decisions"`
		} `json:"scorers"`
		Note string `json:"scorers_note"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Scorer != "smde" || rep.Legit != 2 || rep.Shared3 != 1 || len(rep.Scorers) != 2 || rep.Note != "" ||
		rep.Scorers[0].Scorer != "smde" || rep.Scorers[0].Role != "active" ||
		rep.Scorers[1].Scorer != "concurrency" || rep.Scorers[1].Role != "shadow" ||
		rep.Scorers[0].Flagged == nil || rep.Scorers[0].Decision == nil || rep.Scorers[1].Recall == nil {
		t.Errorf("report: %s", r.stdout)
	}
	if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
		t.Errorf("left in the temporary directory: %v %v", left, err)
	}
}
