package lease

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

const ttl = 2 * time.Second

// leasesOn opens the smd_leases bucket on a new connection to srv, so that
// each contender can lose its connection on its own.
func leasesOn(t *testing.T, srv *server.Server, name string) (jetstream.KeyValue, func()) {
	t.Helper()
	nc, err := natsstore.ConnectEmbedded(srv, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := natsstore.Open(ctx, nc, natsstore.Limits{LeaseTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return s.Leases, nc.Close
}

// leaders tracks who runs leader work, and fails the test on any overlap.
type leaders struct {
	t       *testing.T
	mu      sync.Mutex
	current map[string]bool
	starts  map[string]int
	overlap atomic.Bool
}

func newLeaders(t *testing.T) *leaders {
	return &leaders{t: t, current: map[string]bool{}, starts: map[string]int{}}
}

// work returns the leader work of holder: it records its span.
func (ls *leaders) work(holder string) func(context.Context) {
	return func(ctx context.Context) {
		ls.mu.Lock()
		for h, on := range ls.current {
			if on && h != holder {
				ls.overlap.Store(true)
				ls.t.Errorf("%s leads while %s still does", holder, h)
			}
		}
		ls.current[holder] = true
		ls.starts[holder]++
		ls.mu.Unlock()
		<-ctx.Done()
		ls.mu.Lock()
		ls.current[holder] = false
		ls.mu.Unlock()
	}
}

func (ls *leaders) leading() []string {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	var out []string
	for h, on := range ls.current {
		if on {
			out = append(out, h)
		}
	}
	return out
}

func (ls *leaders) startsOf(h string) int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.starts[h]
}

// waitFor polls cond until it holds or 30 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTwoContendersThenCrash(t *testing.T) {
	srv, _ := natstest.Single(t)
	ls := newLeaders(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	crash := map[string]func(){}
	var all []*Lease
	for _, h := range []string{"a", "b"} {
		kv, closeConn := leasesOn(t, srv, h)
		l, err := New(ctx, kv, Config{Name: "rotation", Holder: h})
		if err != nil {
			t.Fatal(err)
		}
		if l.TTL() != ttl {
			t.Fatalf("TTL from the bucket: %v", l.TTL())
		}
		crash[h] = closeConn
		all = append(all, l)
	}
	var wg sync.WaitGroup
	for _, l := range all {
		wg.Add(1)
		go func() { defer wg.Done(); l.Run(ctx, ls.work(l.Holder())) }()
	}
	waitFor(t, "a leader", func() bool { return len(ls.leading()) == 1 })
	first := ls.leading()[0]
	other := map[string]string{"a": "b", "b": "a"}[first]
	cur, err := all[0].Current(ctx)
	if err != nil || cur.Holder != first {
		t.Fatalf("lease value %+v %v, leader %s", cur, err, first)
	}
	// The leader keeps the lease over several TTLs by renewing it: the
	// other never leads meanwhile.
	time.Sleep(ttl + ttl/2)
	if n := ls.startsOf(other); n != 0 {
		t.Fatalf("%s led %d times while %s renewed", other, n, first)
	}
	if n := ls.startsOf(first); n != 1 {
		t.Fatalf("%s started leading %d times", first, n)
	}
	// The leader crashes: its connection goes and nothing is released. Its
	// work stops by its local deadline; the other takes over once the
	// entry expired; never both at once (leaders.work fails the test).
	crash[first]()
	waitFor(t, "the other to take over", func() bool {
		l := ls.leading()
		return len(l) == 1 && l[0] == other
	})
	cancel()
	wg.Wait()
	if ls.overlap.Load() {
		t.Fatal("two leaders at once")
	}
}

func TestReleaseHandsOver(t *testing.T) {
	srv, _ := natstest.Single(t)
	kvA, _ := leasesOn(t, srv, "a")
	kvB, _ := leasesOn(t, srv, "b")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	la, err := New(ctx, kvA, Config{Name: "x", Holder: "a"})
	if err != nil {
		t.Fatal(err)
	}
	lb, err := New(ctx, kvB, Config{Name: "x", Holder: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := la.TryAcquire(ctx); !ok || err != nil {
		t.Fatalf("a: %v %v", ok, err)
	}
	if ok, err := lb.TryAcquire(ctx); ok || err != nil {
		t.Fatalf("b acquired a held lease: %v %v", ok, err)
	}
	if !la.Held() || lb.Held() {
		t.Fatal("Held disagrees")
	}
	if err := la.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lb.Renew(ctx); !errors.Is(err, ErrLost) {
		t.Fatalf("b renewed a lease it does not hold: %v", err)
	}
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if la.Held() {
		t.Fatal("held after release")
	}
	if _, err := la.Current(ctx); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("current after release: %v", err)
	}
	// Released: b acquires at once (well before a TTL would have passed).
	if ok, err := lb.TryAcquire(ctx); !ok || err != nil {
		t.Fatalf("b after release: %v %v", ok, err)
	}
	// a's stale revision cannot renew it nor release it.
	if err := la.Renew(ctx); !errors.Is(err, ErrLost) {
		t.Fatalf("a renewed after release: %v", err)
	}
	if v, err := lb.Current(ctx); err != nil || v.Holder != "b" {
		t.Fatalf("current: %+v %v", v, err)
	}
}

// TestStolenLeaseStopsWork: when the entry is overwritten (the lease
// expired during a long pause and another process took it), the next
// renewal fails its compare-and-set and the leader's work is cancelled.
func TestStolenLeaseStopsWork(t *testing.T) {
	srv, _ := natstest.Single(t)
	kv, _ := leasesOn(t, srv, "a")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l, err := New(ctx, kv, Config{Name: "y", Holder: "a"})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	stopped := make(chan struct{})
	var once sync.Once
	go l.Run(ctx, func(wctx context.Context) {
		once.Do(func() { close(started) })
		<-wctx.Done()
		select {
		case <-stopped:
		default:
			close(stopped)
		}
	})
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("never led")
	}
	if _, err := kv.Put(ctx, "y", []byte(`{"holder":"thief"}`)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("work not cancelled after the lease was taken")
	}
	if l.Held() {
		t.Fatal("still held")
	}
}

func TestNewErrors(t *testing.T) {
	_, nc := natstest.Single(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := natsstore.Open(ctx, nc, natsstore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		kv   jetstream.KeyValue
		cfg  Config
		want string
	}{
		{"no bucket", nil, Config{Name: "x"}, "no bucket"},
		{"no name", s.Leases, Config{}, "no name"},
		{"bucket without TTL", s.Assets, Config{Name: "x"}, "has no TTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(ctx, tt.kv, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	l, err := New(ctx, s.Leases, Config{Name: "x"})
	if err != nil || l.Holder() == "" || l.TTL() != 15*time.Second {
		t.Fatalf("defaults: %v %v", l, err)
	}
}
