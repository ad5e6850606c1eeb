package node

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/accessstream"
	"github.com/smd-media/smd/internal/natsstore"
)

// TestServeAccessStream: smd serve publishes the edge's access events to
// the stream; an attached consumer (the detector's place) receives them on
// the partition of their session; the edge's metrics count them; the
// exporter writes them to an hourly file, closed when the node stops.
func TestServeAccessStream(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := serveConfig(t, true, sampleOrigin(t))
	cfg.Control.Export.Dir = filepath.Join(t.TempDir(), "export")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string][]int{} // session id -> partitions of its events
	n, err := StartServe(ctx, cfg, "test", testLog(t, "serve"), WithAccessConsumer(func(st *natsstore.Store) (accessstream.ConsumerConfig, error) {
		if st.Revoked == nil {
			t.Error("no store handed to the consumer's builder")
		}
		return accessstream.ConsumerConfig{Handler: func(p int, e *accesslog.Event) {
			mu.Lock()
			defer mu.Unlock()
			got[e.SessionID] = append(got[e.SessionID], p)
		}}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.AccessPublisher() == nil || n.AccessConsumer() == nil || n.AccessExporter() == nil {
		t.Fatal("the access stream's parts did not start")
	}
	base := "http://" + n.Edge.Addr
	api := adminClient(t, cfg.DataDir, base)
	if _, err := api.CreateAsset(ctx, []byte(fmt.Sprintf(assetJSON, n.Edge.Addr))); err != nil {
		t.Fatal(err)
	}
	tok, err := api.Token(ctx, "m1", nil)
	if err != nil {
		t.Fatal(err)
	}
	const requests = 5
	for range requests {
		if code := status(t, tok.PlaybackURL); code != 200 {
			t.Fatalf("GET: %d", code)
		}
	}
	want := accessstream.Partition(tok.SessionID, "")
	waitFor(t, "the session's events at the consumer", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got[tok.SessionID]) >= requests
	})
	mu.Lock()
	for _, p := range got[tok.SessionID] {
		if p != want {
			t.Errorf("event on partition %d, want %d", p, want)
		}
	}
	mu.Unlock()
	metrics := get(t, "http://"+n.Edge.AdminAddr+"/metrics")
	for _, m := range []string{"smd_edge_access_stream_published_total", "smd_edge_access_spool_bytes", "smd_control_access_events_total"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %s", m)
		}
	}

	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(cfg.Control.Export.Dir, "dt=*", "hour=*", "*.json.gz"))
	exported := 0
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(zr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"session_id":"`+tok.SessionID+`"`) {
				exported++
			}
		}
		f.Close()
	}
	if exported < requests {
		t.Fatalf("%d of the session's events in the export files %v", exported, files)
	}
}
