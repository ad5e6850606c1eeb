// Package natstest starts real NATS servers for tests: one embedded node,
// or a cluster of nodes on loopback whose members can be stopped and
// started again.
package natstest

import (
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/smd-media/smd/internal/natsstore"
)

// Single starts one embedded node with JetStream, stopped at the test's
// end, and returns it with an in-process connection.
func Single(t testing.TB) (*server.Server, *nats.Conn) {
	t.Helper()
	srv, err := natsstore.StartEmbedded(natsstore.EmbeddedConfig{DataDir: t.TempDir(), Name: "test", Listen: "127.0.0.1:" + freePort(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	nc, err := natsstore.ConnectEmbedded(srv, t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return srv, nc
}

// Cluster is a NATS cluster on 127.0.0.1 (or one restartable node, see
// StartSingle).
type Cluster struct {
	t       testing.TB
	mu      sync.Mutex
	servers []*server.Server
	cfgs    []natsstore.EmbeddedConfig
}

// StartCluster starts n nodes with JetStream (clustered) and waits until
// JetStream has a meta leader. The nodes stop at the test's end.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	// The ports are free a moment before the servers take them; a test of
	// another package running in parallel may take one first, and that
	// node then never becomes ready. Such a start is tried again on other
	// ports (it happened once in a CI run, under load).
	var err error
	for attempt := range 3 {
		var c *Cluster
		if c, err = startCluster(t, n); err == nil {
			t.Cleanup(c.Shutdown)
			c.waitMeta()
			return c
		}
		t.Logf("cluster start %d of 3 failed: %v", attempt+1, err)
	}
	t.Fatal(err)
	return nil
}

// startCluster starts n nodes on fresh ports and directories; on an error
// the nodes that started are stopped.
func startCluster(t testing.TB, n int) (*Cluster, error) {
	c := &Cluster{t: t, servers: make([]*server.Server, n), cfgs: make([]natsstore.EmbeddedConfig, n)}
	routes := make([]string, n)
	listens := make([]string, n)
	for i := range n {
		listens[i] = "127.0.0.1:" + freePort(t)
		routes[i] = "nats://" + listens[i]
	}
	dir := t.TempDir()
	for i := range n {
		c.cfgs[i] = natsstore.EmbeddedConfig{
			DataDir: filepath.Join(dir, fmt.Sprint(i)),
			Name:    fmt.Sprintf("n%d", i),
			Listen:  "127.0.0.1:" + freePort(t),
			Cluster: &natsstore.ClusterConfig{Name: "smdtest", Listen: listens[i], Routes: routes},
			// Cluster nodes only become ready once routes are up; start
			// them all before waiting.
			StartTimeout: 30 * time.Second,
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.servers[i], errs[i] = natsstore.StartEmbedded(c.cfgs[i])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	return c, nil
}

// waitMeta waits until a JetStream meta leader is elected.
func (c *Cluster) waitMeta() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		leader, current := false, true
		for _, s := range c.running() {
			leader = leader || s.JetStreamIsLeader()
			current = current && s.JetStreamIsCurrent()
		}
		if leader && current {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatal("natstest: no JetStream meta leader after 30s")
}

func (c *Cluster) running() []*server.Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*server.Server
	for _, s := range c.servers {
		if s != nil && s.Running() {
			out = append(out, s)
		}
	}
	return out
}

// URLs returns the client URLs of all nodes (running or not).
func (c *Cluster) URLs() []string {
	out := make([]string, len(c.cfgs))
	for i, cfg := range c.cfgs {
		out[i] = "nats://" + cfg.Listen
	}
	return out
}

// Connect opens a client connection to the cluster, closed at the test's end.
func (c *Cluster) Connect() *nats.Conn {
	c.t.Helper()
	nc, err := natsstore.Connect(natsstore.ConnConfig{URLs: c.URLs(), Name: c.t.Name()})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(nc.Close)
	return nc
}

// Stop shuts node i down.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	s := c.servers[i]
	c.servers[i] = nil
	c.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// Restart starts node i again on its data directory and addresses.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	s, err := natsstore.StartEmbedded(c.cfgs[i])
	if err != nil {
		c.t.Fatal(err)
	}
	c.mu.Lock()
	c.servers[i] = s
	c.mu.Unlock()
}

// Shutdown stops every node.
func (c *Cluster) Shutdown() {
	for i := range c.servers {
		c.Stop(i)
	}
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// StartSingle starts one node with JetStream, not clustered, that can be
// stopped and restarted (Stop(0), Restart(0)) on the same store directory
// and client address: a JetStream restart under traffic. It stops at the
// test's end.
func StartSingle(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{t: t, servers: make([]*server.Server, 1), cfgs: []natsstore.EmbeddedConfig{{
		DataDir: t.TempDir(), Name: "single", Listen: "127.0.0.1:" + freePort(t),
	}}}
	s, err := natsstore.StartEmbedded(c.cfgs[0])
	if err != nil {
		t.Fatal(err)
	}
	c.servers[0] = s
	t.Cleanup(c.Shutdown)
	return c
}
