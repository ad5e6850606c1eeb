package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control/apikey"
	"github.com/smd-media/smd/internal/natsstore/natstest"
	"github.com/smd-media/smd/internal/seal"
)

// cluster is a control plane and edges, each with its own NATS
// connection, on a 3-node NATS cluster with replicas 3.
type cluster struct {
	nats    *natstest.Cluster
	control *Node
	edges   []*Node
	api     string
	dataDir string
}

func startCluster(t testing.TB, edges int) *cluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := &cluster{nats: natstest.StartCluster(t, 3)}
	originURL := sampleOrigin(t)
	// One master key for the deployment, as an operator makes it
	// (docs/control.md).
	_, text, err := seal.Generate()
	if err != nil {
		t.Fatal(err)
	}
	mkFile := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(mkFile, text, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := serveConfig(t, false, originURL)
	cfg.ID = "control"
	cfg.NATS.URLs = c.nats.URLs()
	cfg.NATS.Replicas = 3
	cfg.Control.Listen = "127.0.0.1:0"
	cfg.Control.TrustedProxies = []string{"127.0.0.1/32"}
	cfg.MasterKeyFile = mkFile
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// smd control does not create the API keys; an operator does, as
	// smd serve would.
	c.dataDir = cfg.DataDir
	if _, err := apikey.Bootstrap(filepath.Join(cfg.DataDir, "api-keys.json")); err != nil {
		t.Fatal(err)
	}
	c.control, err = start(ctx, cfg, false, "test", testLog(t, "control"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.control.Close() })
	c.api = "http://" + c.control.APIAddr
	for i := range edges {
		ec := edgeConfig(t, fmt.Sprintf("edge-%d", i), c.nats.URLs(), originURL, 3)
		ec.MasterKeyFile = mkFile
		e, err := StartEdge(ctx, ec, "test", testLog(t, fmt.Sprintf("edge-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		c.edges = append(c.edges, e)
	}
	return c
}

// TestClusterSeparateRoles: a control plane and two edges as separate
// nodes on a 3-node NATS cluster. One NATS node stops during revocations
// and a key rotation: nothing is lost, edges keep serving, the rotation
// completes with every edge holding the new key.
func TestClusterSeparateRoles(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	c := startCluster(t, 2)
	ctx := context.Background()
	api := adminClient(t, c.dataDir, c.api)
	if _, err := api.CreateAsset(ctx, []byte(fmt.Sprintf(assetJSON, "cdn.example.com"))); err != nil {
		t.Fatal(err)
	}
	// One session per edge, the edge's address in place of the CDN's.
	var urls []string
	var sessions []string
	for _, e := range c.edges {
		tok, err := api.Token(ctx, "m1", nil)
		if err != nil {
			t.Fatal(err)
		}
		u := strings.Replace(tok.PlaybackURL, "http://cdn.example.com", "http://"+e.Edge.Addr, 1)
		waitFor(t, "the edge to load the key ring", func() bool { return status(t, u) == 200 })
		urls = append(urls, u)
		sessions = append(sessions, tok.SessionID)
	}
	waitFor(t, "both edges' heartbeats", func() bool {
		hs, err := api.Edges(ctx)
		return err == nil && len(hs) == 2
	})

	old := primary(t, api)
	if _, err := api.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	c.nats.Stop(0) // during the rotation and the revocations below

	// Revocations while a node is down: every one reaches every edge.
	var revoked []string
	for i := range 20 {
		id := fmt.Sprintf("Gone%02d", i)
		var err error
		for range 50 { // a request lost in a leader change is retried
			if _, err = api.Revoke(ctx, id, "cluster test", time.Hour); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("revoke %s with a node down: %v", id, err)
		}
		revoked = append(revoked, id)
	}
	if _, err := api.Revoke(ctx, sessions[0], "cluster test", time.Hour); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "edge-0 to refuse the revoked session", func() bool { return status(t, urls[0]) == 403 })
	if code := status(t, urls[1]); code != 200 {
		t.Fatalf("edge-1, session not revoked: %d", code)
	}
	for i, e := range c.edges {
		waitFor(t, fmt.Sprintf("edge-%d to hold all revocations", i), func() bool {
			n := 0
			for _, id := range revoked {
				if e.edgeRevoked(id) {
					n++
				}
			}
			return n == len(revoked)
		})
	}
	waitFor(t, "the rotation to complete with a NATS node down", func() bool { return primary(t, api) != old })
	// Every edge holds the new primary, and serves the old token.
	now := primary(t, api)
	hs, err := api.Edges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		ids := append([]string(nil), h.KeyIDs...)
		sort.Strings(ids)
		if i := sort.SearchStrings(ids, now); i == len(ids) || ids[i] != now {
			t.Errorf("edge %s lacks the new primary %s: %v", h.EdgeID, now, h.KeyIDs)
		}
	}
	if code := status(t, urls[1]); code != 200 {
		t.Fatalf("old token after rotation: %d", code)
	}
	c.nats.Restart(0)

	// smd control's admin listener: metrics of the rotation, readiness.
	if c.control.AdminAddr == "" {
		t.Fatal("smd control has no admin listener")
	}
	metrics := get(t, "http://"+c.control.AdminAddr+"/metrics")
	if !strings.Contains(metrics, "smd_keys_rotations_total") || !strings.Contains(metrics, "smd_control_revocations_total") {
		t.Fatalf("control metrics lack the rotation or revocation counters:\n%.2000s", metrics)
	}
	waitFor(t, "control /readyz", func() bool { return status(t, "http://"+c.control.AdminAddr+"/readyz") == 200 })
}

// edgeRevoked tells whether the node's edge holds id as revoked.
func (n *Node) edgeRevoked(id string) bool { return n.revoked != nil && n.revoked.Revoked(id) }

// BenchmarkRevocationToEdges measures, with 3 edges on a 3-node NATS
// cluster, the time from the API call revoking a session until every edge
// answers 403 to that session's URL. Reported: p50 and p99 in ms.
func BenchmarkRevocationToEdges(b *testing.B) {
	c := startCluster(b, 3)
	ctx := context.Background()
	api := adminClient(b, c.dataDir, c.api)
	if _, err := api.CreateAsset(ctx, []byte(fmt.Sprintf(assetJSON, "cdn.example.com"))); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	for b.Loop() {
		b.StopTimer()
		tok, err := api.Token(ctx, "m1", nil)
		if err != nil {
			b.Fatal(err)
		}
		urls := make([]string, len(c.edges))
		for i, e := range c.edges {
			urls[i] = strings.Replace(tok.PlaybackURL, "http://cdn.example.com", "http://"+e.Edge.Addr, 1)
			waitFor(b, "the edge to serve", func() bool { return status(b, urls[i]) == 200 })
		}
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for _, u := range urls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for status(b, u) != 403 {
				}
			}()
		}
		if _, err := api.Revoke(ctx, tok.SessionID, "bench", time.Hour); err != nil {
			b.Fatal(err)
		}
		wg.Wait()
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/1e6, "max-ms")
}
