package node

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
)

// TestDocumentedQueries: the DuckDB queries of docs/access.md run, with
// DuckDB from the npm registry (querytest/, pinned), against real hourly
// exports (events published to the access stream by a real publisher,
// exported by smd serve's exporter), and answer what the events say: the
// hourly counts, and SMDE's session analysis flags the shared session and
// none of the others.
func TestDocumentedQueries(t *testing.T) {
	root := filepath.Join("..", "..")
	mods := filepath.Join(root, "querytest", "node_modules", "@duckdb", "node-api")
	if _, err := os.Stat(mods); err != nil {
		t.Fatal("DuckDB for node is not installed: npm ci --prefix querytest (scripts/test.sh does)")
	}
	dir := t.TempDir()
	cfg := serveConfig(t, true, sampleOrigin(t))
	cfg.Control.Export.Dir = filepath.Join(dir, "export")
	n := startServe(t, cfg)

	// Five sessions over the last 70 s: four viewers of one address, user
	// agent and referer asking a new segment every 2 s, and one shared
	// token asking three times as often from three addresses, two user
	// agents and two referers; then five refusals of the shared one.
	end := time.Now().Add(-5 * time.Second).UTC()
	begin := end.Add(-60 * time.Second)
	var requests, refused int
	var bytes int64
	seq := uint64(0)
	publish := func(at time.Time, session, ip, ua, ref string, status int, size int64, path string) {
		seq++
		ev := &accesslog.Event{Time: at, EdgeID: "edge-q", RequestPrefix: "q-", RequestSeq: seq, SessionID: session,
			Verdict: accesslog.VerdictAllow, Status: status, Addr: netip.MustParseAddr(ip), Country: "SE",
			UserAgent: ua, Referer: ref, Method: "GET", Route: "/vod/", OriginPath: path, BytesSent: size,
			Duration: 3 * time.Millisecond, DurationMS: 3, CacheStatus: "HIT"}
		if status >= 400 {
			ev.Verdict, ev.Reason, ev.CacheStatus = accesslog.VerdictRevoked, "revoked", ""
			refused++
		}
		requests++
		bytes += size
		n.AccessPublisher().Log(ev)
	}
	for v := range 4 {
		id := fmt.Sprintf("legit%d", v)
		for i := range 31 {
			publish(begin.Add(time.Duration(i)*2*time.Second), id, fmt.Sprintf("192.0.2.%d", 10+v), "Player/1", "https://site.example/", 200, 50000,
				"/vod/m1/seg-1-"+strconv.Itoa(i)+".m4s")
		}
	}
	ips := []string{"198.51.100.1", "198.51.100.2", "203.0.113.3"}
	for i := range 91 {
		publish(begin.Add(time.Duration(i)*2*time.Second/3), "shared1", ips[i%3], []string{"Player/1", "curl/8"}[i%2],
			[]string{"https://site.example/", "https://pirate.example/"}[i%2], 200, 50000, "/vod/m1/seg-1-"+strconv.Itoa(i)+".m4s")
	}
	for i := range 5 {
		publish(end.Add(time.Duration(i)*100*time.Millisecond), "shared1", ips[0], "curl/8", "", 403, 10, "/vod/m1/seg-1-99.m4s")
	}
	// Once the exporter has every event, stopping closes its files.
	waitFor(t, "the exporter's events", func() bool { return n.AccessExporter().Read() >= int64(requests) })
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("node", filepath.Join(root, "querytest", "queries.mjs"), filepath.Join(root, "docs", "access.md"), dir)
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("the documented queries: %v", err)
	}
	var blocks [][][]map[string]any
	if err := json.Unmarshal(b, &blocks); err != nil {
		t.Fatalf("queries.mjs: %v: %.300s", err, b)
	}
	if len(blocks) != 3 {
		t.Fatalf("%d SQL blocks in docs/access.md's DuckDB section, want 3 (a look, the view and its query, SMDE's analysis)", len(blocks))
	}
	// 1. A quick look: ten rows.
	if look := blocks[0]; len(look) != 1 || len(look[0]) != 10 {
		t.Errorf("the quick look: %v", look)
	}
	// 2. The typed view, then requests, refusals and bytes per hour.
	hours := blocks[1][len(blocks[1])-1]
	var gotReq, gotRefused, gotBytes int64
	for _, h := range hours {
		gotReq += num(t, h["requests"])
		gotRefused += num(t, h["refused"])
		gotBytes += num(t, h["bytes"])
	}
	if gotReq != int64(requests) || gotRefused != int64(refused) || gotBytes != bytes {
		t.Errorf("per hour: %d requests, %d refused, %d bytes; published %d, %d, %d (%v)", gotReq, gotRefused, gotBytes, requests, refused, bytes, hours)
	}
	// 3. SMDE's analysis: the shared session alone: 91 (address, path)
	// pairs in 60 s against the median session's 31, plus the three
	// penalties (addresses, user agents, referers).
	flagged := blocks[2][0]
	if len(flagged) != 1 || flagged[0]["session_id"] != "shared1" {
		t.Fatalf("SMDE's analysis flagged %v, want shared1 alone", flagged)
	}
	want := 91.0/31 + 3
	if s, ok := flagged[0]["score"].(float64); !ok || math.Abs(s-want) > 1e-9 {
		t.Errorf("shared1 scored %v, want %v", flagged[0]["score"], want)
	}
}

// num reads a number DuckDB's JSON gave as a number or a string (BIGINT).
func num(t *testing.T, v any) int64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return int64(x)
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			t.Fatalf("not a number: %q", x)
		}
		return n
	}
	t.Fatalf("not a number: %v", v)
	return 0
}
