// Package lease elects one leader among several processes with a lease in
// a NATS key-value bucket whose entries expire (smd_leases): the leader
// creates the lease's entry (Create succeeds only when it is absent) and
// renews it with compare-and-set on its revision (Update); a renewal that
// fails the compare-and-set means another process holds the lease. When a
// leader dies, its entry expires after the bucket's TTL and another
// process takes over.
//
// The contract: a holder treats its leadership as lost, and cancels the
// leader's work, no later than TTL - TTL/5 after the start of its last
// successful renewal, so that it has stopped before the entry can expire
// and another process can acquire it (clocks may differ in offset, not
// much in rate). The leader's work should still make its writes
// conditional (compare-and-set) where two leaders overlapping briefly
// would matter.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrLost is returned by [Lease.Renew] when another process holds the
// lease (or it expired).
var ErrLost = errors.New("lease lost")

// ErrNoTTL is returned by [New] for a bucket whose entries do not expire.
var ErrNoTTL = errors.New("bucket has no TTL: a dead leader's lease would never expire")

// Config configures a [Lease].
type Config struct {
	// Name is the lease's key in the bucket, e.g. "rotation" (required).
	Name string
	// Holder identifies this process in the lease's value; default
	// "<hostname>-<pid>-<random>".
	Holder string
	// TTL is the bucket's TTL; default: read from the bucket.
	TTL time.Duration
	// Log receives leadership changes; none when nil.
	Log *slog.Logger
}

// Value is what the lease's entry holds.
type Value struct {
	// Holder identifies the leader.
	Holder string `json:"holder"`
	// Since is when the holder acquired the lease.
	Since time.Time `json:"since"`
	// Renewed is when the holder last renewed it.
	Renewed time.Time `json:"renewed"`
}

// Lease is one process's handle on a named lease.
type Lease struct {
	kv  jetstream.KeyValue
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	rev     uint64 // revision of our entry; 0 when not holding
	since   time.Time
	renewed time.Time // start of the last successful create or renewal
}

// New returns a handle on the lease cfg.Name in kv (the smd_leases bucket).
func New(ctx context.Context, kv jetstream.KeyValue, cfg Config) (*Lease, error) {
	if kv == nil {
		return nil, errors.New("lease: no bucket")
	}
	if cfg.Name == "" {
		return nil, errors.New("lease: no name")
	}
	if cfg.Holder == "" {
		cfg.Holder = DefaultHolder()
	}
	if cfg.TTL <= 0 {
		st, err := kv.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("lease: bucket %s: %w", kv.Bucket(), err)
		}
		cfg.TTL = st.TTL()
	}
	if cfg.TTL <= 0 {
		return nil, fmt.Errorf("lease: bucket %s: %w", kv.Bucket(), ErrNoTTL)
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Lease{kv: kv, cfg: cfg, log: log.With("lease", cfg.Name, "holder", cfg.Holder)}, nil
}

// DefaultHolder returns "<hostname>-<pid>-<8 random hex digits>".
func DefaultHolder() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "smd"
	}
	b := make([]byte, 4)
	rand.Read(b) // never fails (Go 1.24+)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Holder returns this process's holder id.
func (l *Lease) Holder() string { return l.cfg.Holder }

// TTL returns the lease's time to live.
func (l *Lease) TTL() time.Duration { return l.cfg.TTL }

// Held reports whether this process holds the lease as far as it knows:
// acquired, and renewed recently enough (see the package contract).
func (l *Lease) Held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.heldLocked(time.Now())
}

func (l *Lease) heldLocked(now time.Time) bool {
	return l.rev != 0 && now.Before(l.deadlineLocked())
}

// deadlineLocked is when the holder must consider the lease lost.
func (l *Lease) deadlineLocked() time.Time { return l.renewed.Add(l.cfg.TTL - l.cfg.TTL/5) }

// TryAcquire creates the lease's entry if it is absent (or expired) and
// reports whether this process now holds the lease.
func (l *Lease) TryAcquire(ctx context.Context) (bool, error) {
	start := time.Now()
	v := Value{Holder: l.cfg.Holder, Since: start.UTC(), Renewed: start.UTC()}
	b, _ := json.Marshal(v)
	rev, err := l.kv.Create(ctx, l.cfg.Name, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lease %s: %w", l.cfg.Name, err)
	}
	l.mu.Lock()
	l.rev, l.since, l.renewed = rev, start, start
	l.mu.Unlock()
	return true, nil
}

// Renew extends the lease. It returns [ErrLost] (wrapped) when another
// process holds it or it expired, and another error when NATS did not
// answer (the lease may still be held: try again until [Lease.Held] says
// otherwise).
func (l *Lease) Renew(ctx context.Context) error {
	l.mu.Lock()
	rev, since := l.rev, l.since
	l.mu.Unlock()
	if rev == 0 {
		return fmt.Errorf("lease %s: %w: not held", l.cfg.Name, ErrLost)
	}
	start := time.Now()
	b, _ := json.Marshal(Value{Holder: l.cfg.Holder, Since: since.UTC(), Renewed: start.UTC()})
	nrev, err := l.kv.Update(ctx, l.cfg.Name, b, rev)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rev != rev { // released meanwhile
		return fmt.Errorf("lease %s: %w: released", l.cfg.Name, ErrLost)
	}
	switch {
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists):
		l.rev = 0
		return fmt.Errorf("lease %s: %w: another process holds it", l.cfg.Name, ErrLost)
	case err != nil:
		if !l.heldLocked(time.Now()) {
			l.rev = 0
			return fmt.Errorf("lease %s: %w: not renewed in time: %w", l.cfg.Name, ErrLost, err)
		}
		return fmt.Errorf("lease %s: renew: %w", l.cfg.Name, err)
	}
	l.rev, l.renewed = nrev, start
	return nil
}

// Release gives the lease up (deletes its entry if it is still ours), so
// that another process can take over at once.
func (l *Lease) Release(ctx context.Context) error {
	l.mu.Lock()
	rev := l.rev
	l.rev = 0
	l.mu.Unlock()
	if rev == 0 {
		return nil
	}
	err := l.kv.Delete(ctx, l.cfg.Name, jetstream.LastRevision(rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("lease %s: release: %w", l.cfg.Name, err)
	}
	return nil
}

// Current returns the lease's value in the bucket (who leads), and
// jetstream.ErrKeyNotFound when nobody does.
func (l *Lease) Current(ctx context.Context) (Value, error) {
	var v Value
	e, err := l.kv.Get(ctx, l.cfg.Name)
	if errors.Is(err, jetstream.ErrKeyDeleted) {
		err = jetstream.ErrKeyNotFound
	}
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(e.Value(), &v); err != nil {
		return v, fmt.Errorf("lease %s: value is not valid JSON", l.cfg.Name)
	}
	return v, nil
}

// Run contends for the lease until ctx ends. Whenever this process
// acquires it, Run calls work with a context that is cancelled when the
// lease is lost (or ctx ends), renews the lease every TTL/3 meanwhile, and
// waits for work to return. When ctx ends, Run releases the lease and
// returns nil. If work returns while the lease is held, Run releases it and
// returns nil too.
func (l *Lease) Run(ctx context.Context, work func(ctx context.Context)) error {
	every := l.cfg.TTL / 3
	for {
		ok, err := l.TryAcquire(ctx)
		if err != nil && ctx.Err() == nil {
			l.log.Warn("lease: cannot contend", "err", err)
		}
		if ok {
			l.log.Info("lease acquired: leading")
			done := l.lead(ctx, work, every)
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := l.Release(rctx); err != nil {
				l.log.Warn("lease not released; it expires after its TTL", "err", err)
			}
			cancel()
			if ctx.Err() != nil || done {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// lead runs work while renewing the lease; it returns when work returned
// (true) or the lease was lost or ctx ended (false), after work returned.
func (l *Lease) lead(ctx context.Context, work func(ctx context.Context), every time.Duration) (workDone bool) {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		work(lctx)
	}()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		// Wake at the next renewal or at the local deadline, whichever is
		// first: a renewal stuck in a slow NATS must not keep a stale leader.
		l.mu.Lock()
		deadline := l.deadlineLocked()
		l.mu.Unlock()
		dl := time.NewTimer(time.Until(deadline))
		select {
		case <-done:
			dl.Stop()
			return true
		case <-ctx.Done():
			dl.Stop()
			cancel()
			<-done
			return false
		case <-dl.C:
			l.mu.Lock()
			l.rev = 0
			l.mu.Unlock()
			l.log.Error("lease: not renewed in time; stepping down")
			cancel()
			<-done
			return false
		case <-t.C:
			dl.Stop()
			rctx, rcancel := context.WithDeadline(ctx, deadline)
			err := l.Renew(rctx)
			rcancel()
			if errors.Is(err, ErrLost) {
				l.log.Warn("lease lost; stepping down", "err", err)
				cancel()
				<-done
				return false
			}
			if err != nil && ctx.Err() == nil {
				l.log.Warn("lease: renewal failed; retrying", "err", err)
			}
		}
	}
}
