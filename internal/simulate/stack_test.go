package simulate

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/node"
	"github.com/smd-media/smd/internal/origin"
)

// stack is a whole smd serve on loopback, built through exported APIs
// only, as an operator would run it for a simulation: embedded NATS, the
// control plane, an edge that trusts 127.0.0.1 for X-Forwarded-For and
// reads countries from CloudFront-Viewer-Country, an access log file, and
// the sample origin.
type stack struct {
	edge      string // base URL
	accessLog string
	admin     *client.Client
	adminFile string
}

// startStack runs the stack; adjust, when given, changes the
// configuration before it starts (the detector is off unless it turns it
// on, so that the harness's own measurements do not race it).
func startStack(t *testing.T, adjust ...func(*config.Serve)) *stack {
	t.Helper()
	o, err := origin.New(origin.Config{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)

	cfg, err := config.LoadServe("", true, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg.ID = "sim"
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Listen = "127.0.0.1:0"
	cfg.Admin.Listen = ""
	cfg.TrustedProxies = []string{"127.0.0.1/32"}
	cfg.Geo.Source = "headers"
	cfg.AccessLog.File = filepath.Join(dir, "access.log")
	cfg.Routes = []config.Route{{Prefix: "/", Origin: srv.URL}}
	cfg.Control.PlaybackScheme = "http"
	cfg.NATS.Heartbeat = config.Duration(200 * time.Millisecond)
	cfg.Detector.Enabled = false
	for _, f := range adjust {
		f(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.StartServe(ctx, cfg, "test", testLog("serve"))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		n.Close()
	})
	s := &stack{edge: "http://" + n.Edge.Addr, accessLog: cfg.AccessLog.File}
	s.adminFile = filepath.Join(cfg.DataDir, "api-keys.admin")
	tok, err := readFile(s.adminFile)
	if err != nil {
		t.Fatal(err)
	}
	if s.admin, err = client.New(s.edge, tok); err != nil {
		t.Fatal(err)
	}
	return s
}

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return strings.TrimSpace(string(b)), err
}

// testLog is quiet unless SMD_TEST_LOG is set.
func testLog(name string) *slog.Logger {
	if os.Getenv("SMD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil)).With("node", name)
	}
	return slog.New(slog.DiscardHandler)
}

// accessEvent is the part of an access log line the tests read.
type accessEvent struct {
	SessionID string `json:"session_id"`
	Status    int    `json:"status"`
	ViewerIP  string `json:"viewer_ip"`
	Country   string `json:"country"`
	UserAgent string `json:"user_agent"`
}

// readAccessLog returns the events of the edge's access log file.
func readAccessLog(t *testing.T, path string) []accessEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []accessEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var e accessEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("access log line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
