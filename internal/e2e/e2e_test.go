package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/node"
	"github.com/smd-media/smd/internal/origin"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

var key = &token.Key{ID: "e2e", Secret: []byte(strings.Repeat("4f", 64))}

// need fails the test when a player-side tool is missing: these tests are
// part of CI, and scripts/test.sh installs the tools.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run scripts/test.sh, which installs it", tool)
		}
	}
}

type stack struct {
	base    string // http://127.0.0.1:port of the edge
	logFile string
	edge    *node.EdgeServer
}

// engines are the edge's server engines: every test runs against each.
var engines = []string{config.EngineLean, config.EngineNetHTTP}

// forEachEngine runs test once per engine, as subtests.
func forEachEngine(t *testing.T, test func(t *testing.T, engine string)) {
	for _, engine := range engines {
		t.Run(strings.ReplaceAll(engine, "/", "-"), func(t *testing.T) { test(t, engine) })
	}
}

// start runs the sample origin and an edge in front of it (serving with
// engine), on loopback.
func start(t *testing.T, engine string) *stack {
	t.Helper()
	o, err := origin.New(origin.Config{})
	if err != nil {
		t.Fatal(err)
	}
	os := httptest.NewServer(o)
	t.Cleanup(os.Close)
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.json")
	writeFile(t, keys, fmt.Sprintf(`{%q: %q}`, key.ID, key.Secret))
	cfg := config.DefaultEdge()
	cfg.ID = "e2e"
	cfg.Server.Engine = engine
	cfg.Listen, cfg.Admin.Listen = "127.0.0.1:0", ""
	cfg.KeysFile = keys
	cfg.AccessLog.File = filepath.Join(dir, "access.log")
	cfg.Routes = []config.Route{
		{Prefix: "/vod/", Origin: os.URL},
		{Prefix: "/live/", Origin: os.URL},
		// The live MPD's UTCTiming points at /time on the host that served it.
		{Prefix: "/time", Origin: os.URL, Mode: config.ModeOff},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := node.StartFileEdge(context.Background(), &cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &stack{base: "http://" + s.Addr, logFile: cfg.AccessLog.File, edge: s}
}

func writeFile(t *testing.T, p, body string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// url issues a playback URL for path under policy p.
func (s *stack) url(t *testing.T, p smde.Policy, v smde.Viewer, path string) string {
	t.Helper()
	if p.Expiry == "" {
		p.Expiry = "+1h"
	}
	u, _, err := (&smde.Signer{Key: key}).SignURL(&p, &v, s.base+path)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// events reads the access log (after the edge is closed).
func (s *stack) events(t *testing.T) []map[string]any {
	t.Helper()
	if err := s.edge.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(s.logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// run runs a tool with a hard deadline (ffmpeg may ignore SIGTERM while
// it waits on the network, so it is killed).
func run(t *testing.T, limit time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("%s timed out after %v", name, limit)
	}
	return string(out), err
}

func probeDuration(t *testing.T, input string) float64 {
	t.Helper()
	out, err := run(t, 60*time.Second, "ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", input)
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", input, err, out)
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
	if err != nil {
		t.Fatalf("ffprobe said %q", out)
	}
	return d
}

// TestPlayersThroughEdge: ffmpeg pulls whole VOD titles and a stretch of
// live through the edge with valid tokens; every request is answered 2xx
// and ffprobe reads the expected duration from the result.
func TestPlayersThroughEdge(t *testing.T) { forEachEngine(t, testPlayersThroughEdge) }

func testPlayersThroughEdge(t *testing.T, engine string) {
	need(t, "ffmpeg", "ffprobe")
	s := start(t, engine)
	dir := t.TempDir()
	ua := "smd-e2e-player/1.0"
	policy := smde.Policy{IP: true, Session: true, Headers: []string{"user-agent"}}
	viewer := smde.Viewer{IP: "127.0.0.1", Headers: map[string]string{"User-Agent": ua}}
	tests := []struct {
		name, path string
		pull       []string // ffmpeg options before the output, after -i
		want       float64
	}{
		{"vod hls", "/vod/m1/master.m3u8", nil, 12},
		{"vod dash", "/vod/m2/manifest.mpd", nil, 12},
		{"live hls", "/live/ch1/master.m3u8", []string{"-t", "6"}, 6},
		{"live dash", "/live/ch2/manifest.mpd", []string{"-t", "6"}, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := policy
			p.Paths = []string{tc.path[:strings.LastIndexByte(tc.path, '/')+1]}
			u := s.url(t, p, viewer, tc.path)
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".mp4")
			args := append([]string{"-v", "error", "-user_agent", ua, "-y", "-i", u}, tc.pull...)
			args = append(args, "-map", "0:v:0", "-map", "0:a:0", "-c", "copy", out)
			if msg, err := run(t, 90*time.Second, "ffmpeg", args...); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, msg)
			}
			if d := probeDuration(t, out); d < tc.want-0.6 || d > tc.want+1.5 {
				t.Fatalf("pulled %.2fs, want about %.0fs", d, tc.want)
			}
		})
	}
	evs := s.events(t)
	if len(evs) < 20 {
		t.Fatalf("only %d requests reached the edge", len(evs))
	}
	for _, ev := range evs {
		status := int(ev["status"].(float64))
		if status == 404 && pastDASHEnd.MatchString(ev["origin_path"].(string)) {
			// ffmpeg's DASH demuxer asks for one segment past the end of
			// a static @duration template; the origin rightly has none.
			continue
		}
		if status < 200 || status > 299 || ev["verdict"] != "allow" {
			t.Errorf("request %v answered %d (%v %v)", ev["origin_path"], status, ev["verdict"], ev["reason"])
		}
		if ev["session_id"] == "" || ev["session_id"] == nil {
			t.Errorf("request %v without a session", ev["origin_path"])
		}
	}
}

// pastDASHEnd is the segment after the last of the 12-second VOD clip.
var pastDASHEnd = regexp.MustCompile(`^/vod/[^/]+/seg-[0-9]+-7\.m4s$`)

// TestPlayersRefused: ffmpeg fails with 401 for a token bound to another
// IP, to another player, or expired; and for no token at all.
func TestPlayersRefused(t *testing.T) { forEachEngine(t, testPlayersRefused) }

func testPlayersRefused(t *testing.T, engine string) {
	need(t, "ffmpeg")
	s := start(t, engine)
	const path = "/vod/m1/master.m3u8"
	tests := []struct {
		name string
		url  string
	}{
		{"other ip", s.url(t, smde.Policy{IP: true, Paths: []string{"/vod/m1/"}}, smde.Viewer{IP: "203.0.113.9"}, path)},
		{"other player", s.url(t, smde.Policy{Headers: []string{"user-agent"}, Paths: []string{"/vod/m1/"}},
			smde.Viewer{Headers: map[string]string{"User-Agent": "TheRealPlayer/2"}}, path)},
		{"expired", s.url(t, smde.Policy{Paths: []string{"/vod/m1/"}, Expiry: smde.IntString(strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10))}, smde.Viewer{}, path)},
		{"other title", s.url(t, smde.Policy{Paths: []string{"/vod/m2/"}}, smde.Viewer{}, path)},
		{"no token", s.base + path},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, 30*time.Second, "ffmpeg", "-v", "error", "-y", "-i", tc.url, "-t", "1", "-f", "null", "-")
			if err == nil {
				t.Fatal("ffmpeg played it")
			}
			if !strings.Contains(out, "401") {
				t.Fatalf("ffmpeg failed without a 401: %v\n%s", err, out)
			}
		})
	}
}

// TestCurlRangeAndHead checks ranges (on a miss and on a hit) and HEAD.
func TestCurlRangeAndHead(t *testing.T) { forEachEngine(t, testCurlRangeAndHead) }

func testCurlRangeAndHead(t *testing.T, engine string) {
	need(t, "curl")
	s := start(t, engine)
	u := s.url(t, smde.Policy{Paths: []string{"/vod/"}}, smde.Viewer{}, "/vod/m1/seg-1-2.m4s")
	for _, pass := range []string{"miss", "hit"} {
		out, err := run(t, 20*time.Second, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %header{content-range}", "-r", "100-1099", u)
		if err != nil {
			t.Fatalf("%s: %v %s", pass, err, out)
		}
		f := strings.SplitN(out, " ", 3)
		if len(f) != 3 || f[0] != "206" || f[1] != "1000" || !strings.HasPrefix(f[2], "bytes 100-1099/") {
			t.Fatalf("%s: range answered %q", pass, out)
		}
	}
	out, err := run(t, 20*time.Second, "curl", "-sS", "-I", u)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "HTTP/1.1 200") || !strings.Contains(strings.ToLower(out), "content-length:") || !strings.Contains(strings.ToLower(out), "accept-ranges: bytes") {
		t.Fatalf("HEAD answered:\n%s", out)
	}
	out, _ = run(t, 20*time.Second, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-r", "999999999-", u)
	if out != "416" {
		t.Fatalf("unsatisfiable range answered %q", out)
	}
}
