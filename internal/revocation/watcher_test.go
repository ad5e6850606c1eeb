package revocation

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

func TestWatcherLoadsThenFollows(t *testing.T) {
	_, nc := natstest.Single(t)
	st, s := openStore(t, nc, natsstore.Limits{})
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if _, err := s.Revoke(ctx, Entry{SessionID: id}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Unrevoke(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	var seen updates
	w := NewWatcher(WatcherConfig{Applied: seen.add})
	select {
	case <-w.Ready():
		t.Fatal("ready before any content")
	default:
	}
	run(t, w, opener(nc, natsstore.Limits{}))
	waitClosed(t, "sync", w.Synced())
	waitClosed(t, "ready", w.Ready())
	if !w.Revoked("a") || w.Revoked("b") || !w.Revoked("c") || w.Len() != 2 || w.FromSnapshot() {
		t.Fatalf("initial load: len %d", w.Len())
	}
	rev, err := s.Revoke(ctx, Entry{SessionID: "d"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "d at the watcher", func() bool { return w.Revoked("d") })
	if w.Revision() != rev {
		t.Fatalf("revision %d, want %d", w.Revision(), rev)
	}
	if _, err := s.Unrevoke(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "unrevoke of a", func() bool { return !w.Revoked("a") })
	if w.Len() != 2 || w.Revision() <= rev || !seen.has("a", false) {
		t.Fatalf("after unrevoke: len %d, revision %d", w.Len(), w.Revision())
	}
	// A plain KV delete (not the Store's purge) also unrevokes.
	if err := st.Revoked.Delete(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delete of c", func() bool { return !w.Revoked("c") })
	// A value that does not decode still revokes (the safe side), and an
	// entry whose expiry has passed does not.
	if _, err := st.Revoked.Put(ctx, "garbled", []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Revoked.Put(ctx, "stale", []byte(`{"session_id":"stale","type":"manual","revoked_at":"2020-01-01T00:00:00Z","expires_at":"2020-01-02T00:00:00Z"}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "garbled and stale applied", func() bool { return seen.has("garbled", true) && seen.has("stale", false) })
	if !w.Revoked("garbled") || w.Revoked("stale") {
		t.Fatal("garbled or stale entry")
	}
}

// freePort returns a loopback address that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// restartable is one NATS server that can stop and start again on the
// same data directory and address.
type restartable struct {
	t    testing.TB
	cfg  natsstore.EmbeddedConfig
	mu   sync.Mutex
	srv  *server.Server
	addr string
}

func newRestartable(t testing.TB) *restartable {
	r := &restartable{t: t, addr: freeAddr(t)}
	r.cfg = natsstore.EmbeddedConfig{DataDir: t.TempDir(), Name: "solo", Listen: r.addr}
	r.start()
	t.Cleanup(r.stop)
	return r
}

func (r *restartable) start() {
	r.t.Helper()
	srv, err := natsstore.StartEmbedded(r.cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
}

func (r *restartable) stop() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

func TestWatcherSnapshotStartAndCatchUp(t *testing.T) {
	srv := newRestartable(t)
	connect := func() *nats.Conn {
		nc, err := natsstore.Connect(natsstore.ConnConfig{URLs: []string{"nats://" + srv.addr}, RetryFirst: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	nc := connect()
	_, s := openStore(t, nc, natsstore.Limits{})
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if _, err := s.Revoke(ctx, Entry{SessionID: id}, 0); err != nil {
			t.Fatal(err)
		}
	}
	snap := filepath.Join(t.TempDir(), "revoked.snap")

	// First life of the edge: no snapshot yet; it syncs from NATS and
	// writes the snapshot when it stops.
	w1 := NewWatcher(WatcherConfig{Snapshot: snap})
	if err := w1.LoadSnapshot(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no snapshot yet: %v", err)
	}
	r1 := run(t, w1, opener(nc, natsstore.Limits{}))
	waitClosed(t, "first sync", w1.Synced())
	// An id the bucket never had (as after an unrevoke whose marker has
	// expired): the catch-up must drop it.
	w1.Set().Add("ghost", time.Time{})
	r1.stop(t)
	if _, err := os.Stat(snap); err != nil {
		t.Fatalf("snapshot not written at stop: %v", err)
	}

	// While the edge is down: a is unrevoked, d revoked. Then NATS goes.
	if _, err := s.Unrevoke(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, Entry{SessionID: "d"}, 0); err != nil {
		t.Fatal(err)
	}
	srv.stop()

	// Second life: NATS unreachable, the edge serves from its snapshot.
	nc2 := connect()
	w2 := NewWatcher(WatcherConfig{Snapshot: snap})
	if err := w2.LoadSnapshot(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, "ready from the snapshot", w2.Ready())
	r2 := run(t, w2, opener(nc2, natsstore.Limits{}))
	if !w2.FromSnapshot() || w2.Revision() != w1.Revision() || w2.Len() != 4 ||
		!w2.Revoked("a") || !w2.Revoked("c") || !w2.Revoked("ghost") || w2.Revoked("d") {
		t.Fatalf("from snapshot: len %d, revision %d/%d", w2.Len(), w2.Revision(), w1.Revision())
	}
	select {
	case <-w2.Synced():
		t.Fatal("synced while NATS is down")
	default:
	}

	// NATS is back: the watcher catches up with everything it missed.
	srv.start()
	waitClosed(t, "catch-up", w2.Synced())
	if w2.FromSnapshot() || w2.Revoked("a") || !w2.Revoked("b") || !w2.Revoked("c") || !w2.Revoked("d") ||
		w2.Revoked("ghost") || w2.Len() != 3 {
		t.Fatalf("after catch-up: len %d", w2.Len())
	}
	if _, err := s.Revoke(ctx, Entry{SessionID: "e"}, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "live update after catch-up", func() bool { return w2.Revoked("e") })
	r2.stop(t)

	// The snapshot written at the second stop holds the caught-up set.
	w3 := NewWatcher(WatcherConfig{Snapshot: snap})
	if err := w3.LoadSnapshot(); err != nil || w3.Len() != 4 || !w3.Revoked("e") || w3.Revoked("a") {
		t.Fatalf("second snapshot: len %d, %v", w3.Len(), err)
	}
	// A damaged snapshot is refused whole.
	if err := os.WriteFile(snap, []byte("SMDREV1\ngarbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	w4 := NewWatcher(WatcherConfig{Snapshot: snap})
	if err := w4.LoadSnapshot(); err == nil || w4.Len() != 0 {
		t.Fatalf("damaged snapshot: %v", err)
	}
	select {
	case <-w4.Ready():
		t.Fatal("ready from a damaged snapshot")
	default:
	}
}

// TestWatcherExpiryWhileCutOff: an entry whose ExpiresAt has passed stops
// counting although no expiry marker arrived, and is left out of the
// snapshot.
func TestWatcherExpiryWhileCutOff(t *testing.T) {
	_, nc := natstest.Single(t)
	_, s := openStore(t, nc, natsstore.Limits{})
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	if _, err := s.Revoke(ctx, Entry{SessionID: "hour"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revoke(ctx, Entry{SessionID: "forever"}, 0); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(t.TempDir(), "revoked.snap")
	w := NewWatcher(WatcherConfig{Snapshot: snap, Now: clock})
	r := run(t, w, opener(nc, natsstore.Limits{}))
	waitClosed(t, "sync", w.Synced())
	if !w.Revoked("hour") {
		t.Fatal("not revoked before expiry")
	}
	mu.Lock()
	now = now.Add(61 * time.Minute)
	mu.Unlock()
	if w.Revoked("hour") || !w.Revoked("forever") {
		t.Fatal("expired entry still counts")
	}
	r.stop(t)
	w2 := NewWatcher(WatcherConfig{Snapshot: snap, Now: clock})
	if err := w2.LoadSnapshot(); err != nil || w2.Len() != 1 || !w2.Revoked("forever") {
		t.Fatalf("snapshot: len %d, %v", w2.Len(), err)
	}
}

func TestWatcherSavesOnlyWhenReady(t *testing.T) {
	snap := filepath.Join(t.TempDir(), "revoked.snap")
	w := NewWatcher(WatcherConfig{Snapshot: snap})
	if err := w.SaveSnapshot(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(snap); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an empty, never-synced set overwrote the snapshot: %v", err)
	}
	if err := NewWatcher(WatcherConfig{}).LoadSnapshot(); err == nil {
		t.Fatal("LoadSnapshot without a path")
	}
	if err := w.Run(context.Background(), nil); err == nil {
		t.Fatal("Run without a bucket")
	}
}
