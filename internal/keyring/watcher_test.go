package keyring

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

// logBuf collects a logger's output for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func openStore(t *testing.T) (*natsstore.Store, func()) {
	t.Helper()
	srv, nc := natstest.Single(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := natsstore.Open(ctx, nc, natsstore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return s, func() { srv.Shutdown(); srv.WaitForShutdown() }
}

func put(t *testing.T, kv jetstream.KeyValue, d *Doc) uint64 {
	t.Helper()
	b, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Put(context.Background(), EntryKey, b)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func TestWatcherFollowsAndKeepsLastGood(t *testing.T) {
	s, _ := openStore(t)
	mk := masterKey(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs logBuf
	snap := filepath.Join(t.TempDir(), "keys.snapshot")
	w, err := NewWatcher(WatcherConfig{MasterKey: mk, Snapshot: snap, Log: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, s.Keys) }()

	// An empty bucket: no ring yet, and not ready.
	waitFor(t, "the empty-bucket warning", func() bool { return strings.Contains(logs.String(), "no key ring in NATS yet") })
	select {
	case <-w.Ready():
		t.Fatal("ready without a ring")
	default:
	}

	d, rev, err := UpdateDoc(ctx, s.Keys, time.Now, func(cur *Doc) (*Doc, error) { return rotated(t, mk), nil })
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := w.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first ring", func() bool { return w.Revision() == rev })
	if len(w.KeyIDs()) != 3 || w.Lookup(d.Rotation.Next) == nil || w.FromSnapshot() {
		t.Fatalf("held %v", w.KeyIDs())
	}
	prim := w.Lookup(d.Primary().ID)

	// The snapshot: mode 0600, secrets sealed.
	waitFor(t, "the snapshot", func() bool { _, err := os.Stat(snap); return err == nil })
	st, _ := os.Stat(snap)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot mode %04o", st.Mode().Perm())
	}
	b, _ := os.ReadFile(snap)
	if bytes.Contains(b, prim.Secret) {
		t.Fatal("plain secret in the snapshot")
	}

	// Bad entries never replace the ring: garbage, another master key, a
	// deletion. Each is counted and logged at error level.
	bads := []struct {
		name  string
		write func() error
		log   string
	}{
		{"garbage", func() error { _, err := s.Keys.Put(ctx, EntryKey, []byte("{not json")); return err }, "not valid JSON"},
		{"other master key", func() error { put(t, s.Keys, NewDoc(masterKey(t), t0)); return nil }, "sealed with master key"},
		{"deleted", func() error { return s.Keys.Delete(ctx, EntryKey) }, "key ring entry deleted from NATS"},
		{"purged", func() error { return s.Keys.Purge(ctx, EntryKey) }, "key ring entry deleted from NATS"},
	}
	for i, bad := range bads {
		if err := bad.write(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, bad.name+" rejected", func() bool { return w.Rejected() == uint64(i+1) })
		if w.Revision() != rev || w.Lookup(d.Primary().ID) != prim || len(w.KeyIDs()) != 3 {
			t.Fatalf("%s: ring changed to %v", bad.name, w.KeyIDs())
		}
		if !strings.Contains(logs.String(), bad.log) {
			t.Fatalf("%s: log lacks %q:\n%s", bad.name, bad.log, logs.String())
		}
	}
	if strings.Contains(logs.String(), string(prim.Secret)) {
		t.Fatal("secret in the log")
	}

	// A good ring again: taken, same pointer for the same key.
	d2 := d.Clone()
	d2.Keys[0].State, d2.Keys[0].Secret = StateRetired, ""
	rev2 := put(t, s.Keys, d2)
	waitFor(t, "the new ring", func() bool { return w.Revision() == rev2 })
	if w.Lookup(d.Keys[0].ID) != nil || w.Lookup(d.Primary().ID) != prim {
		t.Fatal("new ring not applied as expected")
	}
	waitFor(t, "the snapshot of the new ring", func() bool {
		_, r, err := readSnapshot(snap)
		return err == nil && r == rev2
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestWatcherFromSnapshot(t *testing.T) {
	s, stopNATS := openStore(t)
	mk := masterKey(t)
	dir := t.TempDir()
	snap := filepath.Join(dir, "keys.snapshot")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Missing and damaged snapshots are errors, and leave no ring.
	w0, _ := NewWatcher(WatcherConfig{MasterKey: mk, Snapshot: snap})
	if err := w0.LoadSnapshot(); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	if err := os.WriteFile(snap, []byte(`{"format":"smd-keyring-snapshot-1","revision":3,"ring":{"version":1`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w0.LoadSnapshot(); err == nil || w0.Live().Loaded() {
		t.Fatal("damaged snapshot loaded")
	}

	// A watcher fed from NATS writes the snapshot.
	d := rotated(t, mk)
	rev := put(t, s.Keys, d)
	w1, _ := NewWatcher(WatcherConfig{MasterKey: mk, Snapshot: snap})
	wctx, wcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w1.Run(wctx, s.Keys) }()
	waitFor(t, "the snapshot", func() bool { _, r, err := readSnapshot(snap); return err == nil && r == rev })
	wcancel()
	<-done

	// Another master key cannot use it.
	wx, _ := NewWatcher(WatcherConfig{MasterKey: masterKey(t), Snapshot: snap})
	if err := wx.LoadSnapshot(); err == nil || !strings.Contains(err.Error(), "sealed with master key") {
		t.Fatalf("other master key: %v", err)
	}

	// NATS goes away; a new edge starts from the snapshot and keeps
	// serving while its watch keeps failing.
	stopNATS()
	var logs logBuf
	w2, _ := NewWatcher(WatcherConfig{MasterKey: mk, Snapshot: snap, Log: logs.logger()})
	if err := w2.LoadSnapshot(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w2.Ready():
	default:
		t.Fatal("not ready after the snapshot")
	}
	if !w2.FromSnapshot() || w2.Revision() != rev || len(w2.KeyIDs()) != 3 {
		t.Fatalf("from snapshot: %v %d %v", w2.FromSnapshot(), w2.Revision(), w2.KeyIDs())
	}
	if k, err := w2.Live().Signing(); err != nil || k.ID != d.Primary().ID || len(k.Secret) != 128 {
		t.Fatalf("signing from snapshot: %v", err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	done2 := make(chan struct{})
	go func() { defer close(done2); w2.Run(rctx, s.Keys) }()
	waitFor(t, "a failed watch", func() bool { return strings.Contains(logs.String(), "key ring watch interrupted") })
	if w2.Lookup(d.Primary().ID) == nil || w2.Lookup(d.Rotation.Next) == nil || !w2.FromSnapshot() {
		t.Fatal("ring lost while NATS is away")
	}
	rcancel()
	<-done2
}

// TestWatcherSnapshotThenEmptyBucket: an edge whose NATS has an empty
// bucket (a new cluster, say) keeps its snapshot's ring.
func TestWatcherSnapshotThenEmptyBucket(t *testing.T) {
	mk := masterKey(t)
	snap := filepath.Join(t.TempDir(), "keys.snapshot")
	b, _ := rotated(t, mk).Encode()
	if err := writeSnapshot(snap, b, 9, t0); err != nil {
		t.Fatal(err)
	}
	s, _ := openStore(t)
	var logs logBuf
	w, _ := NewWatcher(WatcherConfig{MasterKey: mk, Snapshot: snap, Log: logs.logger()})
	if err := w.LoadSnapshot(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx, s.Keys) }()
	waitFor(t, "the watch's initial read", func() bool { return strings.Contains(logs.String(), "no key ring in NATS; keeping the ring held") })
	cancel()
	<-done
	if w.Revision() != 9 || len(w.KeyIDs()) != 3 || !w.FromSnapshot() {
		t.Fatalf("ring after an empty bucket: %d %v", w.Revision(), w.KeyIDs())
	}
}
