package detect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/smd-media/smd/internal/revocation"
)

// Revoker writes revocations and reads them back: *revocation.Store.
type Revoker interface {
	// Revoke writes e (Type auto) with a TTL.
	Revoke(ctx context.Context, e revocation.Entry, ttl time.Duration) (uint64, error)
	// Get returns the revocation of id, if any: the detector never
	// replaces one, whoever wrote it.
	Get(ctx context.Context, id string) (revocation.Entry, bool, error)
}

// Allowlist tells the sessions the detector leaves alone: allowlisted by
// an operator, or held off after an operator lifted an automatic
// revocation (*revocation.AllowStore).
type Allowlist interface {
	Allowed(ctx context.Context, id string) (bool, error)
}

// Outcomes of a decision.
const (
	// OutcomeRevoked: the active scorer's decision was written.
	OutcomeRevoked = "revoked"
	// OutcomeShadow: a shadow scorer's decision, reported only.
	OutcomeShadow = "shadow"
	// OutcomeDryRun: the active scorer's decision with dry_run on.
	OutcomeDryRun = "dry_run"
	// OutcomeAllowed: the session is allowlisted or held off.
	OutcomeAllowed = "allowed"
	// OutcomeAlreadyRevoked: a revocation of the session exists.
	OutcomeAlreadyRevoked = "already_revoked"
	// OutcomeNoRevoker: no Revoker was given.
	OutcomeNoRevoker = "no_revoker"
	// OutcomeFailed: the allowlist or the revocation store failed; the
	// next evaluation tries again.
	OutcomeFailed = "failed"
	// OutcomeEnded: the session had no request for ended_after; it is
	// not revoked (see Config.EndedAfter).
	OutcomeEnded = "ended"
)

// Run evaluates every interval until ctx ends, acting on the decisions
// (see Tick). It returns nil when ctx ends.
func (d *Detector) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.Interval.D())
	defer t.Stop()
	hot := time.NewTicker(hotInterval(d.cfg.Interval.D()))
	defer hot.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			d.Tick(ctx, d.now())
		case <-hot.C:
			d.TickHot(ctx, d.now())
		}
	}
}

// hotInterval is the time between hot ticks: a quarter of the interval,
// from 50 ms to 500 ms.
func hotInterval(interval time.Duration) time.Duration {
	return min(max(interval/4, 50*time.Millisecond), 500*time.Millisecond)
}

// TickHot looks at once at the sessions a request may have put over the
// threshold since the last hot tick (a viewer's media bucket past the
// download limit, a viewer with more renditions than allowed, a third
// place or more) and acts on the active scorer's new decisions about
// them as Tick does, with the reference of the last evaluation: a
// downloader or a token handed to many places is revoked within a
// fraction of the interval, not at the next whole evaluation. Shadow
// scorers wait for Tick. It returns the decisions reported.
func (d *Detector) TickHot(ctx context.Context, now time.Time) []Decision {
	ns := now.UnixNano()
	var fs []features
	for i := range d.shards {
		sh := &d.shards[i]
		sh.mu.Lock()
		for _, s := range sh.hot {
			s.hot = false
			if f, ok := s.features(d, ns); ok {
				f.shard = i
				fs = append(fs, f)
			}
		}
		clear(sh.hot)
		sh.hot = sh.hot[:0]
		sh.mu.Unlock()
	}
	if len(fs) == 0 || d.cfg.DryRun {
		return nil
	}
	d.evalMu.Lock()
	pop := d.lastPop
	d.evalMu.Unlock()
	sc := d.scorers[0]
	d.tickMu.Lock()
	defer d.tickMu.Unlock()
	if d.flagged[0] == nil {
		d.flagged[0] = map[string]bool{}
	}
	var out []Decision
	for i := range fs {
		f := &fs[i]
		score, over := sc.score(f, &pop)
		if !over || d.flagged[0][f.id] || f.idle >= d.cfg.EndedAfter.D().Seconds() {
			continue
		}
		dec := Decision{Time: now, Scorer: sc.name(), SessionID: f.id, Score: score, Threshold: sc.threshold(), Active: true, f: f, sc: sc}
		var err error
		if dec.Outcome, err = d.enforce(ctx, &dec, ns, false); dec.Outcome == "" {
			continue
		}
		if err != nil {
			d.log.Warn("detect: cannot revoke; trying again at the next evaluation", "session_id", dec.SessionID, "err", err)
		}
		d.fill(&dec)
		d.report(dec)
		out = append(out, dec)
		d.flagged[0][f.id] = true
	}
	d.store(ctx, out)
	return out
}

// Tick evaluates at now and acts: the active scorer's decisions revoke
// (Type auto, the score and its breakdown stored, ttl revoke_ttl) unless
// dry_run is on, the session is allowlisted or held off, or a revocation
// of it exists; a session revoked (or found revoked) is not looked at
// again for a lookback. Each decision is reported (returned, logged,
// counted, passed to OnDecision) when it is new: the first time its
// scorer flags the session since the session was last under the
// threshold, and each time the active scorer's decision is acted on.
func (d *Detector) Tick(ctx context.Context, now time.Time) []Decision {
	decs := d.evaluate(now)
	d.tickMu.Lock()
	defer d.tickMu.Unlock()
	ns := now.UnixNano()
	cur := make([]map[string]bool, len(d.scorers))
	for i := range cur {
		cur[i] = map[string]bool{}
	}
	var out []Decision
	for _, dec := range decs {
		si := d.scorerIndex(dec.Scorer)
		cur[si][dec.SessionID] = true
		repeat := d.flagged[si][dec.SessionID]
		switch {
		case !dec.Active:
			dec.Outcome = OutcomeShadow
		case d.cfg.DryRun:
			dec.Outcome = OutcomeDryRun
		case dec.Ended:
			dec.Outcome = OutcomeEnded
		default:
			var err error
			dec.Outcome, err = d.enforce(ctx, &dec, ns, repeat)
			switch {
			case dec.Outcome == "":
				continue
			case err != nil && repeat:
				// Failing again: counted, not reported again.
				d.metrics.decided(dec)
				continue
			case err != nil:
				d.log.Warn("detect: cannot revoke; trying again at the next evaluation", "session_id", dec.SessionID, "err", err)
			}
			repeat = false
		}
		if repeat {
			continue
		}
		d.fill(&dec)
		d.report(dec)
		out = append(out, dec)
	}
	d.flagged = cur
	d.store(ctx, out)
	for id, t := range d.acted {
		if ns-t >= d.lookback {
			delete(d.acted, id)
		}
	}
	for id, t := range d.allowed {
		if ns >= t {
			delete(d.allowed, id)
		}
	}
	return out
}

// enforce acts on an active decision and returns its outcome ("" when
// there is nothing new to report), with the error of a failed one.
func (d *Detector) enforce(ctx context.Context, dec *Decision, now int64, repeat bool) (string, error) {
	id := dec.SessionID
	if t, ok := d.acted[id]; ok && now-t < d.lookback {
		return "", nil
	}
	if t, ok := d.allowed[id]; ok && now < t {
		return "", nil
	}
	quiet := func(o string) (string, error) {
		if repeat {
			return "", nil
		}
		return o, nil
	}
	if d.deps.Revoker == nil {
		return quiet(OutcomeNoRevoker)
	}
	if d.deps.Allowlist != nil {
		ok, err := d.deps.Allowlist.Allowed(ctx, id)
		if err != nil {
			return OutcomeFailed, fmt.Errorf("allowlist: %w", err)
		}
		if ok {
			d.allowed[id] = now + int64(allowCache)
			return quiet(OutcomeAllowed)
		}
	}
	if _, ok, err := d.deps.Revoker.Get(ctx, id); err != nil {
		return OutcomeFailed, fmt.Errorf("revocation check: %w", err)
	} else if ok {
		d.acted[id] = now
		return quiet(OutcomeAlreadyRevoked)
	}
	d.fill(dec)
	e := revocation.Entry{
		SessionID: id, Type: revocation.TypeAuto, By: "detector", RevokedAt: dec.Time,
		Score:       dec.Score,
		Reason:      reason(dec),
		Features:    dec.Features,
		Explanation: dec.Explanation,
		Evidence:    dec.Evidence,
	}
	if _, err := d.deps.Revoker.Revoke(ctx, e, d.cfg.RevokeTTL.D()); err != nil {
		var fe *revocation.FieldError
		if errors.As(err, &fe) {
			// Never retried: the entry itself is refused.
			d.acted[id] = now
		}
		return OutcomeFailed, fmt.Errorf("revoke: %w", err)
	}
	d.acted[id] = now
	return OutcomeRevoked, nil
}

// reason is the revocation's one-line reason: the first sentence of the
// explanation (the term that decided), at most 1024 bytes.
func reason(dec *Decision) string {
	r := fmt.Sprintf("%s score %s over %s", dec.Scorer, number(dec.Score, dec.Threshold), number(dec.Threshold, 0))
	if len(dec.Explanation) > 1 {
		r = dec.Explanation[0]
	}
	if len(r) > 1024 {
		r = strings.ToValidUTF8(r[:1024], "")
	}
	return r
}

// report logs, counts and hands on a decision.
func (d *Detector) report(dec Decision) {
	d.metrics.decided(dec)
	lvl := slog.LevelInfo
	if dec.Outcome == OutcomeFailed {
		lvl = slog.LevelWarn
	}
	d.log.Log(context.Background(), lvl, "detect: decision", "scorer", dec.Scorer, "session_id", dec.SessionID,
		"score", dec.Score, "threshold", dec.Threshold, "outcome", dec.Outcome, "why", reason(&dec))
	if d.deps.OnDecision != nil {
		d.deps.OnDecision(dec)
	}
}

func (d *Detector) scorerIndex(name string) int {
	for i, s := range d.scorers {
		if s.name() == name {
			return i
		}
	}
	return 0
}

// The stores plug in as they are.
var (
	_ Revoker   = (*revocation.Store)(nil)
	_ Allowlist = (*revocation.AllowStore)(nil)
)
