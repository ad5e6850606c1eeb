package revocation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// WatcherConfig configures a Watcher. The zero value works: no snapshot,
// system clock, no log.
type WatcherConfig struct {
	// Snapshot is the path of the local snapshot file; empty for none. Its
	// directory must exist.
	Snapshot string
	// SnapshotInterval is how often Run rewrites the snapshot when the set
	// changed (default 1m). Run also writes it when it returns. Updates
	// never write it one by one: at 1,000,000 entries a snapshot is tens of
	// megabytes.
	SnapshotInterval time.Duration
	// Conn, when set, is the connection under the bucket; the watcher then
	// notices NATS outages and, after one longer than ResyncAfter, reads
	// the whole bucket again instead of trusting the incremental catch-up
	// (whose unrevoke and expiry markers live only for the bucket's
	// LimitMarkerTTL).
	Conn *nats.Conn
	// ResyncAfter is the outage after which the watcher reads the whole
	// bucket again (default 10m; keep it well below the bucket's marker
	// TTL, 1h by default).
	ResyncAfter time.Duration
	// Log receives the watcher's events; none when nil.
	Log *slog.Logger
	// Now is the clock for expiry times (default time.Now).
	Now func() time.Time
	// Applied, when set, is called after each change from NATS reaches the
	// set, on the watcher's goroutine: keep it short. Tests and benchmarks
	// use it to observe propagation.
	Applied func(Update)
}

// Update is one change applied to a Watcher's set.
type Update struct {
	// SessionID is the session concerned.
	SessionID string
	// Revoked tells whether the session is now revoked.
	Revoked bool
	// Revision is the bucket revision of the change.
	Revision uint64
}

// Watcher keeps a Set equal to the smd_revoked bucket: it reads the whole
// bucket, then follows its changes (revocations, unrevocations, expiries),
// and persists the set to a local snapshot from which an edge starts when
// NATS is unreachable. It keeps the last content it had while NATS is
// away (static stability). A Watcher is also the Checker the edge uses.
type Watcher struct {
	cfg WatcherConfig
	set *Set
	log *slog.Logger

	rev          atomic.Uint64
	changes      atomic.Int64 // updates applied, for the snapshot writer
	fromSnapshot atomic.Bool

	readyOnce, syncedOnce sync.Once
	ready, synced         chan struct{}

	snapMu      sync.Mutex // one snapshot write at a time
	snapChanges int64      // changes at the last write
	snapWritten bool
}

// NewWatcher returns a watcher with an empty set; call LoadSnapshot (if
// configured) and then Run.
func NewWatcher(cfg WatcherConfig) *Watcher {
	if cfg.SnapshotInterval <= 0 {
		cfg.SnapshotInterval = time.Minute
	}
	if cfg.ResyncAfter <= 0 {
		cfg.ResyncAfter = 10 * time.Minute
	}
	set := NewSet()
	if cfg.Now == nil {
		cfg.Now = time.Now
	} else {
		set.now = cfg.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{cfg: cfg, set: set, log: log, ready: make(chan struct{}), synced: make(chan struct{})}
}

// Set returns the set the watcher maintains.
func (w *Watcher) Set() *Set { return w.set }

// Revoked implements Checker.
func (w *Watcher) Revoked(id string) bool { return w.set.Revoked(id) }

// Len returns the number of revoked sessions held.
func (w *Watcher) Len() int { return w.set.Len() }

// Version is the set's (Set.Version).
func (w *Watcher) Version() uint64 { return w.set.Version() }

// Each is the set's (Set.Each).
func (w *Watcher) Each(fn func(id string) bool) { w.set.Each(fn) }

// Revision returns the last bucket revision applied (or the snapshot's,
// before the first read of the bucket), for heartbeats.
func (w *Watcher) Revision() uint64 { return w.rev.Load() }

// FromSnapshot reports whether the set comes from the local snapshot and
// has not been brought up to date from NATS yet.
func (w *Watcher) FromSnapshot() bool { return w.fromSnapshot.Load() }

// Ready is closed once the set can be trusted: loaded from the snapshot or
// read from the bucket.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// Synced is closed once the whole bucket has been read for the first time.
func (w *Watcher) Synced() <-chan struct{} { return w.synced }

// LoadSnapshot fills the set from the snapshot file. It returns an error
// wrapping fs.ErrNotExist when there is none, and an error for a damaged
// file (whose content is then not used at all); the caller logs either and
// goes on, waiting for NATS.
func (w *Watcher) LoadSnapshot() error {
	if w.cfg.Snapshot == "" {
		return errors.New("revocation: no snapshot file configured")
	}
	rev, n, err := readSnapshot(w.cfg.Snapshot, w.set)
	if err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	w.rev.Store(rev)
	w.fromSnapshot.Store(true)
	w.readyOnce.Do(func() { close(w.ready) })
	w.log.Info("revoked sessions loaded from the snapshot", "path", w.cfg.Snapshot, "sessions", n, "revision", rev)
	return nil
}

// SaveSnapshot writes the snapshot file now if the set changed since the
// last write (or was never written by this process), once the set is
// ready. Run calls it periodically and when it returns.
func (w *Watcher) SaveSnapshot() error {
	if w.cfg.Snapshot == "" {
		return nil
	}
	select {
	case <-w.ready:
	default:
		return nil // nothing trustworthy to save yet
	}
	w.snapMu.Lock()
	defer w.snapMu.Unlock()
	ch := w.changes.Load()
	if w.snapWritten && ch == w.snapChanges {
		return nil
	}
	rev := w.rev.Load()
	n, err := writeSnapshot(w.cfg.Snapshot, w.set, rev, w.cfg.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("revocation: %w", err)
	}
	w.snapChanges, w.snapWritten = ch, true
	w.log.Debug("revocation snapshot written", "sessions", n, "revision", rev)
	return nil
}

// Run follows the bucket kv until ctx ends, reading it again after any
// failure (with backoff) while the set keeps serving its last content. It
// writes the snapshot every SnapshotInterval when changed, and once more
// before returning. It returns nil when ctx ends.
func (w *Watcher) Run(ctx context.Context, kv jetstream.KeyValue) error {
	if kv == nil {
		return errors.New("revocation: watcher needs a bucket")
	}
	var wg sync.WaitGroup
	sctx, stop := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.snapshots(sctx)
	}()
	defer func() {
		stop()
		wg.Wait()
		if err := w.SaveSnapshot(); err != nil {
			w.log.Error("revocation snapshot not written", "err", err)
		}
	}()
	wait := 250 * time.Millisecond
	failing := false
	for {
		synced, err := w.watch(ctx, kv)
		if ctx.Err() != nil {
			return nil
		}
		if synced {
			wait = 250 * time.Millisecond
		}
		if !failing || synced {
			w.log.Warn("revocation watch interrupted; serving the last set and retrying", "err", err, "sessions", w.set.Len())
		}
		failing = !synced
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// snapshots writes the snapshot every interval, dropping expired entries
// first (they no longer count, and a cut-off edge gets no expiry marker).
func (w *Watcher) snapshots(ctx context.Context) {
	t := time.NewTicker(w.cfg.SnapshotInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n := w.set.sweepExpired(); n > 0 {
			w.changes.Add(int64(n))
		}
		if err := w.SaveSnapshot(); err != nil {
			w.log.Error("revocation snapshot not written", "err", err)
		}
	}
}

// errResync ends a watch after a long outage.
var errResync = errors.New("nats outage longer than the resync threshold; reading the whole bucket again")

// watchCreateTimeout bounds the creation of a watch; the watch itself
// lives as long as its context, so it cannot carry a deadline.
const watchCreateTimeout = 30 * time.Second

// watch reads the whole bucket, then applies its changes until the watch
// fails or ctx ends. synced tells whether the whole bucket was read.
func (w *Watcher) watch(ctx context.Context, kv jetstream.KeyValue) (synced bool, err error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timer := time.AfterFunc(watchCreateTimeout, cancel)
	kw, err := kv.WatchAll(wctx)
	if !timer.Stop() && err == nil {
		err = errors.New("watch not created in time")
	}
	if err != nil {
		return false, fmt.Errorf("watch %s: %w", kv.Bucket(), err)
	}
	defer kw.Stop()

	// Entries held before this read (from the snapshot or an earlier
	// watch) that the bucket no longer has are dropped at its end.
	var seen map[string]struct{}
	if w.set.Len() > 0 {
		seen = make(map[string]struct{}, w.set.Len())
	}
	var tick <-chan time.Time
	if w.cfg.Conn != nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		tick = t.C
	}
	// An outage is measured from the last tick that saw the connection up,
	// which overestimates it by up to a tick: the safe side.
	lastUp, down := time.Now(), false
	for {
		select {
		case <-ctx.Done():
			return synced, nil
		case <-tick:
			switch up := w.cfg.Conn.Status() == nats.CONNECTED; {
			case !up:
				down = true
			case down && time.Since(lastUp) >= w.cfg.ResyncAfter:
				return synced, errResync
			default:
				lastUp, down = time.Now(), false
			}
		case e, ok := <-kw.Updates():
			if !ok {
				return synced, errors.New("watch closed")
			}
			if e == nil {
				if !synced {
					w.finishSync(seen)
					synced, seen = true, nil
				}
				continue
			}
			if seen != nil {
				seen[e.Key()] = struct{}{}
			}
			w.apply(e)
		}
	}
}

// finishSync drops the entries not seen in the bucket's read and marks the
// set ready and synced.
func (w *Watcher) finishSync(seen map[string]struct{}) {
	if seen != nil {
		n := w.set.removeIf(func(id string, _ int64) bool {
			_, ok := seen[id]
			return !ok
		})
		if n > 0 {
			w.changes.Add(int64(n))
			w.log.Info("revoked sessions dropped: no longer in the bucket", "sessions", n)
		}
	}
	w.fromSnapshot.Store(false)
	w.readyOnce.Do(func() { close(w.ready) })
	w.syncedOnce.Do(func() { close(w.synced) })
	w.log.Info("revoked sessions in sync with NATS", "sessions", w.set.Len(), "revision", w.rev.Load())
}

// apply applies one bucket entry to the set.
func (w *Watcher) apply(e jetstream.KeyValueEntry) {
	id := e.Key()
	rev := e.Revision()
	if rev > w.rev.Load() {
		w.rev.Store(rev) // only this goroutine writes it
	}
	if !ValidSessionID(id) {
		w.log.Warn("revocation entry with an invalid session id ignored", "revision", rev)
		return
	}
	var exp time.Time
	revoked := e.Operation() == jetstream.KeyValuePut
	if revoked {
		var err error
		if exp, err = expiryOf(e.Value()); err != nil {
			// A value we cannot read still revokes: refusing is the safe side.
			w.log.Warn("revocation entry value unreadable; treating it as revoked without expiry", "session", id, "revision", rev, "err", err)
			exp = time.Time{}
		}
		revoked = exp.IsZero() || w.cfg.Now().Before(exp)
	}
	if revoked {
		w.set.Add(strings.Clone(id), exp)
	} else {
		w.set.Remove(id)
	}
	w.changes.Add(1)
	if w.cfg.Applied != nil {
		w.cfg.Applied(Update{SessionID: id, Revoked: revoked, Revision: rev})
	}
}
