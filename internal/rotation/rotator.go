// Package rotation rotates the signing keys of a deployment. Every control
// plane runs a Rotator; only the holder of the "keys-rotation" lease
// (package lease) acts, so several control planes are safe. The rotation is
// a state machine persisted in the ring document (package keyring), so a
// leader that dies mid-rotation leaves a state the next one resumes:
//
//	idle -> distributing: a next key is created (on schedule, when the
//	        primary is Interval old, or on request);
//	distributing -> idle: once every live edge's heartbeat (package fleet)
//	        reports the next key, or the grace deadline passed (logged at
//	        error level with the edges that lack it), the next key becomes
//	        primary and the primary secondary;
//	secondary -> retired: once no token it signed can still be valid, at
//	        demotion + MaxTokenLifetime + ClockSkew; its secret is erased.
//
// An empty bucket gets a ring with one primary key at first start. Every
// change of the document is a compare-and-set, so two control planes that
// briefly both believe they lead still cannot make conflicting changes.
package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/internal/lease"
	"github.com/smd-media/smd/internal/seal"
)

// LeaseName is the lease the rotating leader holds in smd_leases.
const LeaseName = "keys-rotation"

// Defaults of Config.
const (
	DefaultInterval         = 7 * 24 * time.Hour
	DefaultGrace            = 5 * time.Minute
	DefaultMaxTokenLifetime = 24 * time.Hour
	DefaultClockSkew        = 5 * time.Minute
	DefaultTick             = 2 * time.Second
	DefaultStepTimeout      = 10 * time.Second
	DefaultKeepRetired      = 10
)

// Results of a rotation.
const (
	resultOK           = "ok"
	resultGraceTimeout = "grace_timeout"
)

// Reasons a rotation starts.
const (
	reasonSchedule = "schedule"
	reasonRequest  = "request"
)

// Config configures a Rotator.
type Config struct {
	// Keys is the smd_keys bucket (required).
	Keys jetstream.KeyValue
	// Edges is the smd_edges bucket of heartbeats (required by Run).
	Edges jetstream.KeyValue
	// Leases is the smd_leases bucket (required by Run).
	Leases jetstream.KeyValue
	// MasterKey seals new secrets and opens them for List and Import
	// (required).
	MasterKey *seal.Key
	// Interval is the primary's age at which it is rotated (default 7 days).
	Interval time.Duration
	// Grace is how long a rotation waits for every live edge to report the
	// next key before it promotes anyway (default 5m).
	Grace time.Duration
	// MaxTokenLifetime is the longest lifetime of a token (exp - iat); the
	// token API caps tokens at it. Tokens must not outlive it: a former
	// primary is retired MaxTokenLifetime + ClockSkew after it stopped
	// signing (default 24h).
	MaxTokenLifetime time.Duration
	// ClockSkew is added to MaxTokenLifetime before retiring a key: the
	// edges' clock_skew plus the time a signer may lag behind a promotion
	// (default 5m).
	ClockSkew time.Duration
	// Tick is how often the leader looks at the ring and the edges
	// (default 2s).
	Tick time.Duration
	// StepTimeout bounds one look of the leader at the ring and the edges;
	// a NATS request lost in a failover is retried at the next tick after
	// it (default 10s).
	StepTimeout time.Duration
	// KeepRetired is how many retired keys (without secrets) stay listed
	// (default 10).
	KeepRetired int
	// Holder names this process in the lease (default: host-pid-random).
	Holder string
	// Now is the clock for schedules, deadlines and retirement (default
	// time.Now).
	Now func() time.Time
	// Log receives the rotation's events; none when nil.
	Log *slog.Logger
	// Registerer receives the metrics; none when nil.
	Registerer prometheus.Registerer
	// BeforePromote, when set, is called by the leader just before it
	// writes a promotion, with the id of the key about to sign. Tests use
	// it to check that every edge already holds the key.
	BeforePromote func(kid string)
}

// Rotator runs the key rotation. Its methods other than Run may be called
// by any process (the CLI, the API); only Run's leader changes the ring on
// its own.
type Rotator struct {
	cfg     Config
	log     *slog.Logger
	m       *metrics
	leading atomic.Bool
	wake    chan struct{}
	failing bool // leader loop only

	// The edges this leader saw lacking the next key lackingFor during the
	// rotation (leader loop only).
	lackingFor  string
	seenLacking map[string]bool
}

// New checks cfg, fills in the defaults and registers the metrics.
func New(cfg Config) (*Rotator, error) {
	if cfg.Keys == nil {
		return nil, errors.New("rotation: no smd_keys bucket")
	}
	if cfg.MasterKey == nil {
		return nil, errors.New("rotation: no master key")
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"interval", &cfg.Interval, DefaultInterval},
		{"grace", &cfg.Grace, DefaultGrace},
		{"max token lifetime", &cfg.MaxTokenLifetime, DefaultMaxTokenLifetime},
		{"tick", &cfg.Tick, DefaultTick},
		{"step timeout", &cfg.StepTimeout, DefaultStepTimeout},
	} {
		if *d.v < 0 {
			return nil, fmt.Errorf("rotation: %s is negative", d.name)
		}
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if cfg.ClockSkew < 0 {
		return nil, errors.New("rotation: clock skew is negative")
	}
	if cfg.ClockSkew == 0 {
		cfg.ClockSkew = DefaultClockSkew
	}
	if cfg.KeepRetired <= 0 {
		cfg.KeepRetired = DefaultKeepRetired
	}
	if cfg.Holder == "" {
		cfg.Holder = lease.DefaultHolder()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Rotator{cfg: cfg, log: log, m: m, wake: make(chan struct{}, 1)}, nil
}

// RetireDelay is how long a former primary keeps verifying after it stopped
// signing: MaxTokenLifetime + ClockSkew.
func (r *Rotator) RetireDelay() time.Duration { return r.cfg.MaxTokenLifetime + r.cfg.ClockSkew }

// MaxTokenLifetime returns the cap on token lifetimes the retirement of
// keys relies on.
func (r *Rotator) MaxTokenLifetime() time.Duration { return r.cfg.MaxTokenLifetime }

// Leading reports whether this process currently leads the rotation.
func (r *Rotator) Leading() bool { return r.leading.Load() }

// Run contends for the rotation lease until ctx ends and, while it leads,
// creates the ring if there is none and drives the rotation. Metrics are
// kept up to date whether it leads or not. It returns nil when ctx ends.
func (r *Rotator) Run(ctx context.Context) error {
	if r.cfg.Edges == nil || r.cfg.Leases == nil {
		return errors.New("rotation: Run needs the smd_edges and smd_leases buckets")
	}
	l, err := r.newLease(ctx)
	if err != nil {
		return err
	}
	if l == nil {
		return nil // ctx ended
	}
	octx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.observe(octx)
	}()
	err = l.Run(ctx, r.lead)
	stop()
	<-done
	return err
}

// newLease makes the rotation's lease handle, retrying while NATS does not
// answer; nil when ctx ends first.
func (r *Rotator) newLease(ctx context.Context) (*lease.Lease, error) {
	wait := 250 * time.Millisecond
	for logged := false; ; {
		lctx, cancel := context.WithTimeout(ctx, r.cfg.StepTimeout)
		l, err := lease.New(lctx, r.cfg.Leases, lease.Config{Name: LeaseName, Holder: r.cfg.Holder, Log: r.log})
		cancel()
		if err == nil {
			return l, nil
		}
		if errors.Is(err, lease.ErrNoTTL) {
			return nil, fmt.Errorf("rotation: %w", err)
		}
		if !logged {
			r.log.Warn("key rotation: cannot read the lease bucket yet; retrying", "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// observe refreshes the metrics from the ring while another process leads.
func (r *Rotator) observe(ctx context.Context) {
	t := time.NewTicker(r.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if r.leading.Load() {
			continue
		}
		gctx, cancel := context.WithTimeout(ctx, r.cfg.StepTimeout)
		d, _, err := keyring.GetDoc(gctx, r.cfg.Keys)
		cancel()
		if err == nil {
			r.observeDoc(d)
		}
	}
}

// lead is the leader's loop: a step every Tick, or at once when this
// process records a request.
func (r *Rotator) lead(ctx context.Context) {
	r.leading.Store(true)
	r.m.leader.Set(1)
	defer func() {
		r.leading.Store(false)
		r.m.leader.Set(0)
	}()
	r.log.Info("key rotation: leading", "holder", r.cfg.Holder)
	t := time.NewTicker(r.cfg.Tick)
	defer t.Stop()
	for {
		err := r.step(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			r.m.errors.Inc()
			if !r.failing {
				r.log.Warn("key rotation: step failed; retrying", "err", err)
			}
			r.failing = true
		case err == nil && r.failing:
			r.log.Info("key rotation: steps succeed again")
			r.failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
	}
}

// step looks at the ring once and takes the next transition that is due.
func (r *Rotator) step(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, r.cfg.StepTimeout)
	defer cancel()
	d, _, err := keyring.GetDoc(sctx, r.cfg.Keys)
	if errors.Is(err, keyring.ErrNoRing) {
		d, err = r.EnsureRing(sctx)
	}
	if err != nil {
		return err
	}
	now := r.cfg.Now()
	if r.retireDue(d, now) {
		if d, err = r.retire(sctx); err != nil {
			return err
		}
	}
	switch d.Rotation.Phase {
	case keyring.PhaseIdle:
		if reason := r.due(d, now); reason != "" {
			if d, err = r.start(sctx, reason); err != nil {
				return err
			}
		}
	case keyring.PhaseDistributing:
		if d, err = r.distribute(sctx, d); err != nil {
			return err
		}
	}
	r.observeDoc(d)
	return nil
}

// EnsureRing creates the ring with one primary key when the bucket has
// none, and returns the ring in force. Any process may call it: the
// creation is a compare-and-set, so only one ring is ever created.
func (r *Rotator) EnsureRing(ctx context.Context) (*keyring.Doc, error) {
	created := false
	d, rev, err := keyring.UpdateDoc(ctx, r.cfg.Keys, r.cfg.Now, func(cur *keyring.Doc) (*keyring.Doc, error) {
		created = false
		if cur != nil {
			return nil, nil
		}
		created = true
		return keyring.NewDoc(r.cfg.MasterKey, r.cfg.Now()), nil
	})
	if err != nil {
		return nil, err
	}
	if created {
		r.log.Info("key ring created with a primary key", "kid", d.Primary().ID, "revision", rev)
	}
	return d, nil
}

// due returns why a rotation should start now, or "".
func (r *Rotator) due(d *keyring.Doc, now time.Time) string {
	if !d.Rotation.Requested.IsZero() {
		return reasonRequest
	}
	p := d.Primary()
	since := p.Promoted
	if since.IsZero() {
		since = p.Created
	}
	if !now.Before(since.Add(r.cfg.Interval)) {
		return reasonSchedule
	}
	return ""
}

// start creates the next key and enters the distributing phase.
func (r *Rotator) start(ctx context.Context, reason string) (*keyring.Doc, error) {
	now := r.cfg.Now().UTC()
	var kid, by string
	d, rev, err := keyring.UpdateDoc(ctx, r.cfg.Keys, r.cfg.Now, func(cur *keyring.Doc) (*keyring.Doc, error) {
		kid = ""
		if cur == nil || cur.Rotation.Phase != keyring.PhaseIdle {
			return nil, nil // someone else moved on
		}
		if reason = r.due(cur, now); reason == "" {
			return nil, nil
		}
		rec := keyring.NewRecord(cur, r.cfg.MasterKey, keyring.StateNext, now)
		kid, by = rec.ID, cur.Rotation.RequestedBy
		cur.Keys = append(cur.Keys, rec)
		cur.Rotation.Phase, cur.Rotation.Next, cur.Rotation.Reason = keyring.PhaseDistributing, rec.ID, reason
		cur.Rotation.Started, cur.Rotation.Deadline = now, now.Add(r.cfg.Grace)
		cur.Rotation.Requested, cur.Rotation.RequestedBy = time.Time{}, ""
		return cur, nil
	})
	if err != nil {
		return nil, err
	}
	if kid != "" && d.Rotation.Next == kid {
		r.log.Info("key rotation started: next key created, waiting for every live edge to load it",
			"next", kid, "reason", reason, "requested_by", by, "deadline", d.Rotation.Deadline, "revision", rev)
	}
	return d, nil
}

// distribute promotes the next key once every live edge reports it, or
// once the grace deadline has passed.
func (r *Rotator) distribute(ctx context.Context, d *keyring.Doc) (*keyring.Doc, error) {
	next := d.Rotation.Next
	live, err := liveEdges(ctx, r.cfg.Edges)
	if err != nil {
		return nil, err
	}
	if r.lackingFor != next {
		r.lackingFor, r.seenLacking = next, map[string]bool{}
	}
	var lacking []string
	for i := range live {
		if !live[i].HasKey(next) {
			lacking = append(lacking, live[i].EdgeID)
			r.seenLacking[live[i].EdgeID] = true
		}
	}
	missed, err := stillLacking(ctx, r.cfg.Edges, next, r.seenLacking, live)
	if err != nil {
		return nil, err
	}
	if len(missed) > 0 {
		r.log.Warn("key rotation: edges missing from the listing still lack the next key", "next", next, "edges", missed)
		lacking = append(lacking, missed...)
	}
	slices.Sort(lacking)
	r.m.lacking.Set(float64(len(lacking)))
	now := r.cfg.Now()
	if len(lacking) > 0 && now.Before(d.Rotation.Deadline) {
		return d, nil
	}
	result := resultOK
	if len(lacking) > 0 {
		result = resultGraceTimeout
		r.log.Error("key rotation: grace time over; promoting the next key although live edges have not reported it: they will reject tokens signed with it until they load it",
			"next", next, "edges", lacking, "grace", r.cfg.Grace, "started", d.Rotation.Started)
	}
	if r.cfg.BeforePromote != nil {
		r.cfg.BeforePromote(next)
	}
	return r.promote(ctx, next, result, lacking, len(live))
}

// promote makes the next key primary and the primary secondary.
func (r *Rotator) promote(ctx context.Context, next, result string, lacking []string, edges int) (*keyring.Doc, error) {
	now := r.cfg.Now().UTC()
	var old string
	d, rev, err := keyring.UpdateDoc(ctx, r.cfg.Keys, r.cfg.Now, func(cur *keyring.Doc) (*keyring.Doc, error) {
		old = ""
		if cur == nil || cur.Rotation.Phase != keyring.PhaseDistributing || cur.Rotation.Next != next {
			return nil, nil
		}
		p, n := cur.Primary(), cur.Find(next)
		old = p.ID
		p.State, p.Demoted, p.RetireAfter = keyring.StateSecondary, now, now.Add(r.RetireDelay())
		n.State, n.Promoted = keyring.StatePrimary, now
		rot := &cur.Rotation
		rot.Phase, rot.Next, rot.Deadline = keyring.PhaseIdle, "", time.Time{}
		rot.LastCompleted, rot.LastResult, rot.LastLacking = now, result, lacking
		rot.Completed++
		return cur, nil
	})
	if err != nil {
		return nil, err
	}
	if old != "" && d.Primary().ID == next {
		r.m.rotations.WithLabelValues(result).Inc()
		r.m.lacking.Set(0)
		r.log.Info("key rotation completed: next key promoted to primary", "primary", next, "secondary", old,
			"secondary_retires", d.Find(old).RetireAfter, "result", result, "live_edges", edges, "revision", rev)
	}
	return d, nil
}

// retireDue reports whether a secondary has reached its retire_after.
func (r *Rotator) retireDue(d *keyring.Doc, now time.Time) bool {
	for _, k := range d.Keys {
		if k.State == keyring.StateSecondary && !now.Before(k.RetireAfter) {
			return true
		}
	}
	return false
}

// retire retires the secondaries whose retire_after has passed and erases
// their secrets.
func (r *Rotator) retire(ctx context.Context) (*keyring.Doc, error) {
	now := r.cfg.Now().UTC()
	var retired []string
	d, rev, err := keyring.UpdateDoc(ctx, r.cfg.Keys, r.cfg.Now, func(cur *keyring.Doc) (*keyring.Doc, error) {
		retired = retired[:0]
		if cur == nil || !r.retireDue(cur, now) {
			return nil, nil
		}
		for i := range cur.Keys {
			k := &cur.Keys[i]
			if k.State == keyring.StateSecondary && !now.Before(k.RetireAfter) {
				k.State, k.Retired, k.Secret = keyring.StateRetired, now, ""
				retired = append(retired, k.ID)
			}
		}
		cur.PruneRetired(r.cfg.KeepRetired)
		return cur, nil
	})
	if err != nil {
		return nil, err
	}
	if len(retired) > 0 {
		r.log.Info("keys retired: no token they signed can still be valid; secrets erased", "kids", retired, "revision", rev)
	}
	return d, nil
}

// observeDoc sets the gauges from a ring.
func (r *Rotator) observeDoc(d *keyring.Doc) {
	for _, p := range []keyring.Phase{keyring.PhaseIdle, keyring.PhaseDistributing} {
		v := 0.0
		if d.Rotation.Phase == p {
			v = 1
		}
		r.m.phase.WithLabelValues(string(p)).Set(v)
	}
	if d.Rotation.Phase == keyring.PhaseIdle {
		r.m.lacking.Set(0)
	}
	if p := d.Primary(); p != nil && !p.Promoted.IsZero() {
		r.m.primaryAge.Set(r.cfg.Now().Sub(p.Promoted).Seconds())
	}
	n := 0
	for _, k := range d.Keys {
		if k.State.Verifies() {
			n++
		}
	}
	r.m.verifyingNo.Set(float64(n))
}
