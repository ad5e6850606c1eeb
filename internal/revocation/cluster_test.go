package revocation

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

// retry repeats op until it succeeds (a cluster electing a leader answers
// with errors for a few seconds), failing the test after a deadline.
func retry(t testing.TB, what string, op func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := op(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterNodeDown: three edges, each on its own node of a 3-node
// cluster (replicas 3); a node stops in the middle of revocations and
// comes back. No acknowledged change is lost, and every watcher keeps
// answering from memory throughout.
func TestClusterNodeDown(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	limits := natsstore.Limits{Replicas: 3}
	_, s := openStore(t, c.Connect(), limits)
	urls := c.URLs()
	var ws []*Watcher
	for i := range 3 {
		nc, err := natsstore.Connect(natsstore.ConnConfig{URLs: []string{urls[i]}, Name: fmt.Sprint("edge", i)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		w := NewWatcher(WatcherConfig{Conn: nc})
		run(t, w, opener(nc, limits))
		ws = append(ws, w)
	}
	for i, w := range ws {
		waitClosed(t, fmt.Sprint("watcher ", i, " sync"), w.Synced())
	}
	revoked := map[string]bool{}
	revoke := func(from, to int) {
		for i := from; i < to; i++ {
			id := fmt.Sprintf("s%03d", i)
			retry(t, "revoke "+id, func(ctx context.Context) error {
				_, err := s.Revoke(ctx, Entry{SessionID: id}, 0)
				return err
			})
			revoked[id] = true
		}
	}
	unrevoke := func(ids ...string) {
		for _, id := range ids {
			retry(t, "unrevoke "+id, func(ctx context.Context) error {
				_, err := s.Unrevoke(ctx, id)
				return err
			})
			revoked[id] = false
		}
	}
	agree := func(what string) {
		t.Helper()
		for i, w := range ws {
			waitFor(t, fmt.Sprintf("watcher %d: %s", i, what), func() bool {
				for id, want := range revoked {
					if w.Revoked(id) != want {
						return false
					}
				}
				return true
			})
		}
	}
	revoke(0, 40)
	agree("first revocations")

	c.Stop(1)
	// Every watcher, the one whose node is gone included, still answers.
	for i, w := range ws {
		for id := range revoked {
			if !w.Revoked(id) {
				t.Fatalf("watcher %d lost %s while node 1 is down", i, id)
			}
		}
	}
	revoke(40, 80)
	unrevoke("s005", "s045")
	agree("changes while node 1 is down")

	c.Restart(1)
	revoke(80, 120)
	unrevoke("s010", "s085")
	agree("changes after node 1 is back")
	for i, w := range ws {
		if w.Len() != 116 {
			t.Errorf("watcher %d holds %d, want 116", i, w.Len())
		}
	}
}

// TestClusterResyncAfterLongOutage: an edge cut off for longer than
// ResyncAfter reads the whole bucket again when it is back, so an unrevoke
// whose marker expired meanwhile still reaches it.
func TestClusterResyncAfterLongOutage(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	limits := natsstore.Limits{Replicas: 3, RevokedMarkerTTL: time.Second}
	st, s := openStore(t, c.Connect(), limits)
	ctx := context.Background()
	for _, id := range []string{"keep", "drop"} {
		retry(t, "revoke", func(ctx context.Context) error {
			_, err := s.Revoke(ctx, Entry{SessionID: id}, 0)
			return err
		})
	}
	// The edge talks to node 2 only, so stopping it cuts the edge off.
	nc, err := nats.Connect(c.URLs()[2], nats.IgnoreDiscoveredServers(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	// The outage lasts at least the marker TTL (1s), so at least
	// ResyncAfter.
	w := NewWatcher(WatcherConfig{Conn: nc, ResyncAfter: time.Second})
	run(t, w, opener(nc, limits))
	waitClosed(t, "sync", w.Synced())
	if !w.Revoked("drop") {
		t.Fatal("not synced")
	}
	c.Stop(2)
	waitFor(t, "the edge to notice the outage", func() bool { return nc.Status() != nats.CONNECTED })
	retry(t, "unrevoke", func(ctx context.Context) error {
		_, err := s.Unrevoke(ctx, "drop")
		return err
	})
	// Wait until the purge marker has expired: no trace of "drop" remains.
	waitFor(t, "the purge marker to expire", func() bool {
		_, err := st.Revoked.History(ctx, "drop")
		return errors.Is(err, jetstream.ErrKeyNotFound)
	})
	if !w.Revoked("drop") {
		t.Fatal("the cut-off edge changed without NATS")
	}
	c.Restart(2)
	waitFor(t, "the resync to drop the unrevoked session", func() bool { return !w.Revoked("drop") })
	if !w.Revoked("keep") || w.Len() != 1 {
		t.Fatalf("after resync: len %d", w.Len())
	}
}
