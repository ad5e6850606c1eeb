package rotation

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/smd-media/smd/internal/fleet"
	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/seal"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// logBuf collects a logger's output.
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

func (l *logBuf) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func openStore(t *testing.T, nc *nats.Conn, l natsstore.Limits) *natsstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := natsstore.Open(ctx, nc, l)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func masterKey(t *testing.T) *seal.Key {
	t.Helper()
	k, _, err := seal.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// edge is a test edge: a key watcher on its own store, and heartbeats that
// report what the watcher holds, as smd's edge does.
type edge struct {
	id      string
	w       *keyring.Watcher
	s       *natsstore.Store
	running atomic.Bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	ctx     context.Context
}

// newEdge publishes heartbeats at once; the watcher runs only after run().
func newEdge(t *testing.T, id string, s *natsstore.Store, mk *seal.Key) *edge {
	t.Helper()
	w, err := keyring.NewWatcher(keyring.WatcherConfig{MasterKey: mk, Poll: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &edge{id: id, w: w, s: s, cancel: cancel, ctx: ctx}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
			_ = fleet.Publish(pctx, s.Edges, &fleet.Heartbeat{
				EdgeID: id, KeyIDs: w.KeyIDs(), KeysRevision: w.Revision(), At: time.Now().UTC(),
			}) // failures (a node down) are retried at the next tick
			pcancel()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	t.Cleanup(e.stop)
	return e
}

func (e *edge) run() {
	e.running.Store(true)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.w.Run(e.ctx, e.s.Keys)
	}()
}

func (e *edge) stop() {
	e.cancel()
	e.wg.Wait()
}

// newRotator makes a rotator with a fast tick and its own registry.
func newRotator(t *testing.T, s *natsstore.Store, mk *seal.Key, c *clock, log *slog.Logger, holder string) *Rotator {
	t.Helper()
	r, err := New(Config{
		Keys: s.Keys, Edges: s.Edges, Leases: s.Leases, MasterKey: mk,
		Tick: 20 * time.Millisecond, StepTimeout: time.Second, Holder: holder, Now: c.Now, Log: log,
		Registerer: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runRotator runs r until the test ends (or the returned stop is called).
func runRotator(t *testing.T, r *Rotator) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(ctx); err != nil {
			t.Errorf("rotator: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// status reads the rotation's status, or a zero one while there is none.
func status(t *testing.T, r *Rotator) Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, _ := r.Status(ctx)
	return st
}

func count(r *Rotator, result string) float64 {
	return value(r.m.rotations.WithLabelValues(result))
}

// value reads a counter's or a gauge's value.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		return -1
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}
