package keyring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/seal"
	"github.com/smd-media/smd/token"
)

// WatcherConfig configures a [Watcher].
type WatcherConfig struct {
	// MasterKey opens the sealed secrets (required).
	MasterKey *seal.Key
	// Snapshot is the path of the local snapshot file (its directory must
	// exist); empty for none.
	Snapshot string
	// Poll is how often the watcher also reads the entry directly, in case
	// a watch stalls without failing (default 30s).
	Poll time.Duration
	// Log receives the watcher's events; none when nil.
	Log *slog.Logger
	// Now is the clock written into snapshots (default time.Now).
	Now func() time.Time
	// Applied, when set, is called on the watcher's goroutine after a ring
	// from NATS is swapped in, with its revision. Tests use it.
	Applied func(rev uint64)
}

// Watcher keeps a [Live] ring equal to the ring document in the smd_keys
// bucket, for an edge (or a control plane that signs): it follows the
// entry with a KV watch, opens the secrets with the master key, swaps the
// ring in, and writes a local snapshot (secrets still sealed) from which it
// starts when NATS is unreachable. It never drops to an empty ring: a
// deleted, invalid or undecryptable entry is logged at error level and the
// last good ring is kept (static stability). A Watcher is the
// [token.KeyRing] an edge verifies with.
type Watcher struct {
	cfg  WatcherConfig
	log  *slog.Logger
	live Live

	fromSnapshot atomic.Bool
	rejected     atomic.Uint64
	readyOnce    sync.Once
	ready        chan struct{}
}

// NewWatcher returns a watcher with no ring yet: call LoadSnapshot (when a
// snapshot is configured) and Run.
func NewWatcher(cfg WatcherConfig) (*Watcher, error) {
	if cfg.MasterKey == nil {
		return nil, errors.New("keyring: watcher needs the master key")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{cfg: cfg, log: log, ready: make(chan struct{})}, nil
}

// Lookup implements [token.KeyRing].
func (w *Watcher) Lookup(id string) *token.Key { return w.live.Lookup(id) }

// Live returns the ring the watcher maintains (its signing view, document).
func (w *Watcher) Live() *Live { return &w.live }

// KeyIDs returns the ids of the verification keys held, for heartbeats.
func (w *Watcher) KeyIDs() []string { return w.live.KeyIDs() }

// Revision returns the smd_keys revision of the ring held (the snapshot's
// before NATS is read), for heartbeats; 0 when none.
func (w *Watcher) Revision() uint64 { return w.live.Revision() }

// FromSnapshot reports whether the ring comes from the local snapshot and
// has not been replaced from NATS yet.
func (w *Watcher) FromSnapshot() bool { return w.fromSnapshot.Load() }

// Rejected counts ring entries from NATS that were not used (invalid,
// deleted, or sealed with another master key).
func (w *Watcher) Rejected() uint64 { return w.rejected.Load() }

// Ready is closed once a ring is held (from the snapshot or NATS).
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// WaitReady waits until a ring is held or ctx ends.
func (w *Watcher) WaitReady(ctx context.Context) error {
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("keyring: no key ring yet: %w", ctx.Err())
	}
}

// LoadSnapshot loads the ring from the snapshot file. It returns an error
// wrapping fs.ErrNotExist when there is none, and an error for a damaged
// file or one whose secrets do not open (the ring is then not used at
// all); the caller logs either and goes on, waiting for NATS.
func (w *Watcher) LoadSnapshot() error {
	if w.cfg.Snapshot == "" {
		return errors.New("keyring: no snapshot file configured")
	}
	d, rev, err := readSnapshot(w.cfg.Snapshot)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if err := w.live.Set(d, rev, w.cfg.MasterKey); err != nil {
		return fmt.Errorf("keyring: snapshot %s: %w", w.cfg.Snapshot, err)
	}
	w.fromSnapshot.Store(true)
	w.readyOnce.Do(func() { close(w.ready) })
	w.log.Info("key ring loaded from the snapshot", "path", w.cfg.Snapshot, "revision", rev, "keys", w.live.KeyIDs())
	return nil
}

// Run follows the ring entry in kv until ctx ends, watching it again after
// any failure (with backoff) while the ring held keeps serving. It returns
// nil when ctx ends.
func (w *Watcher) Run(ctx context.Context, kv jetstream.KeyValue) error {
	if kv == nil {
		return errors.New("keyring: watcher needs a bucket")
	}
	wait := 250 * time.Millisecond
	failing := false
	for {
		healthy, err := w.watch(ctx, kv)
		if ctx.Err() != nil {
			return nil
		}
		if healthy {
			wait = 250 * time.Millisecond
		}
		if !failing || healthy {
			w.log.Warn("key ring watch interrupted; serving the ring held and retrying", "err", err, "revision", w.Revision())
		}
		failing = !healthy
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// watchCreateTimeout bounds the creation of a watch; the watch itself
// lives as long as its context, so it cannot carry a deadline.
const watchCreateTimeout = 30 * time.Second

// watch follows the entry until the watch fails or ctx ends; healthy tells
// whether the watch delivered its initial value.
func (w *Watcher) watch(ctx context.Context, kv jetstream.KeyValue) (healthy bool, err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timer := time.AfterFunc(watchCreateTimeout, cancel)
	kw, err := kv.Watch(wctx, EntryKey)
	if !timer.Stop() && err == nil {
		err = errors.New("watch not created in time")
	}
	if err != nil {
		return false, fmt.Errorf("watch %s: %w", kv.Bucket(), err)
	}
	defer kw.Stop()
	poll := time.NewTicker(w.cfg.Poll)
	defer poll.Stop()
	seen := false // an entry came with this watch's initial values
	for {
		select {
		case <-ctx.Done():
			return healthy, nil
		case <-poll.C:
			w.poll(ctx, kv)
		case e, ok := <-kw.Updates():
			if !ok {
				return healthy, errors.New("watch closed")
			}
			if e == nil { // the initial value, if any, has been delivered
				switch {
				case seen || healthy:
				case w.live.Loaded():
					w.log.Warn("no key ring in NATS; keeping the ring held", "revision", w.Revision(), "from_snapshot", w.FromSnapshot())
				default:
					w.log.Warn("no key ring in NATS yet; waiting for the control plane to create one")
				}
				healthy = true
				continue
			}
			seen = true
			w.apply(e)
		}
	}
}

// poll reads the entry and applies it when it is newer than the ring held.
func (w *Watcher) poll(ctx context.Context, kv jetstream.KeyValue) {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	e, err := kv.Get(pctx, EntryKey)
	if err != nil || e.Revision() <= w.Revision() {
		return // a failing NATS shows in the watch
	}
	w.log.Warn("key ring update found by polling, not by the watch", "revision", e.Revision())
	w.apply(e)
}

// apply swaps in the ring of one entry, or keeps the ring held.
func (w *Watcher) apply(e jetstream.KeyValueEntry) {
	rev := e.Revision()
	if e.Operation() != jetstream.KeyValuePut {
		// Log before counting: whoever reads the count then finds
		// the line (the watcher test did not, once, on a loaded CI).
		w.log.Error("key ring entry deleted from NATS; keeping the last good ring", "revision", rev, "held_revision", w.Revision())
		w.rejected.Add(1)
		return
	}
	if rev == w.Revision() && !w.FromSnapshot() {
		return // already held (a watch started again)
	}
	d, err := DecodeDoc(e.Value())
	if err == nil {
		err = w.live.Set(d, rev, w.cfg.MasterKey)
	}
	if err != nil {
		w.log.Error("key ring from NATS not usable; keeping the last good ring", "revision", rev, "err", err, "held_revision", w.Revision())
		w.rejected.Add(1)
		return
	}
	w.fromSnapshot.Store(false)
	w.readyOnce.Do(func() { close(w.ready) })
	w.log.Info("key ring updated", "revision", rev, "keys", w.live.KeyIDs(), "phase", d.Rotation.Phase)
	if w.cfg.Snapshot != "" {
		if err := writeSnapshot(w.cfg.Snapshot, e.Value(), rev, w.cfg.Now()); err != nil {
			w.log.Error("key snapshot not written", "err", err)
		}
	}
	if w.cfg.Applied != nil {
		w.cfg.Applied(rev)
	}
}

// Interface guard.
var _ token.KeyRing = (*Watcher)(nil)
