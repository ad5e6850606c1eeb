package revocation

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/smd-media/smd/internal/natsstore"
)

// openStore opens smd's buckets on nc and a Store on the revoked one.
func openStore(t testing.TB, nc *nats.Conn, l natsstore.Limits) (*natsstore.Store, *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := natsstore.Open(ctx, nc, l)
	if err != nil {
		t.Fatal(err)
	}
	return st, NewStore(st.JS, st.Revoked)
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline (the machine is shared and slow; never a fixed sleep).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitClosed waits for ch to be closed.
func waitClosed(t testing.TB, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(60 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// running is a Watcher's Run in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// run starts w.Run on the bucket opened by open (retried until it
// succeeds, as an edge does while NATS is away); stop ends it.
func run(t testing.TB, w *Watcher, open func(ctx context.Context) (*natsstore.Store, error)) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() {
		for {
			octx, ocancel := context.WithTimeout(ctx, 5*time.Second)
			st, err := open(octx)
			ocancel()
			if err == nil {
				r.done <- w.Run(ctx, st.Revoked)
				return
			}
			select {
			case <-ctx.Done():
				r.done <- nil
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop cancels Run and waits for it to return.
func (r *running) stop(t testing.TB) {
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

// opener opens the buckets on nc with limits l.
func opener(nc *nats.Conn, l natsstore.Limits) func(ctx context.Context) (*natsstore.Store, error) {
	return func(ctx context.Context) (*natsstore.Store, error) { return natsstore.Open(ctx, nc, l) }
}

// updates collects a watcher's applied updates.
type updates struct {
	mu  sync.Mutex
	got []Update
}

func (u *updates) add(x Update) {
	u.mu.Lock()
	u.got = append(u.got, x)
	u.mu.Unlock()
}

// has reports whether an update for id with the given state arrived.
func (u *updates) has(id string, revoked bool) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.got {
		if x.SessionID == id && x.Revoked == revoked {
			return true
		}
	}
	return false
}
