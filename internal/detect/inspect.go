package detect

import (
	"context"
	"fmt"
	"time"

	"github.com/smd-media/smd/internal/revocation"
)

// DecisionStore keeps the decisions Tick reports, of every scorer and
// outcome, so that an operator can read why a session was flagged by a
// shadow scorer, or by the active one in dry run, after the fact.
type DecisionStore interface {
	Put(ctx context.Context, d Decision) error
}

// storeTimeout bounds the writing of one decision.
const storeTimeout = 2 * time.Second

// Inspection is what the detector holds about one live session now: its
// features and every scorer's score, over the threshold or not, with
// explanations. It answers "why was this session not revoked?".
type Inspection struct {
	// SessionID is the session; Time the inspection's.
	SessionID string    `json:"session_id"`
	Time      time.Time `json:"time"`
	// LastRequest is the session's latest request counted; Ended is true
	// when that is ended_after ago or more (never revoked then).
	LastRequest time.Time `json:"last_request"`
	Ended       bool      `json:"ended"`
	// Scores has one entry per scorer, the active one first.
	Scores []Score `json:"scores"`
	// Evidence is what the features count.
	Evidence *revocation.Evidence `json:"evidence,omitempty"`
}

// Score is one scorer's judgement of a session.
type Score struct {
	Scorer string `json:"scorer"`
	// Role is active, shadow, or dry_run (the active scorer with dry_run
	// on).
	Role string `json:"role"`
	// Score and Threshold as a decision has them; Over is whether the
	// score is past the threshold as the scorer compares it (with its
	// margin).
	Score     float64 `json:"score"`
	Threshold float64 `json:"threshold"`
	Over      bool    `json:"over"`
	// Features is the breakdown; Explanation says each term in words.
	Features    map[string]float64 `json:"features"`
	Explanation []string           `json:"explanation"`
}

// Inspect returns what the detector holds about session id at now, with
// the population of the last evaluation (the reference rates); false
// when it tracks no such session.
func (d *Detector) Inspect(id string, now time.Time) (Inspection, bool) {
	d.evalMu.Lock()
	pop := d.lastPop
	d.evalMu.Unlock()
	i := d.shardOf(id)
	sh := &d.shards[i]
	sh.mu.Lock()
	s := sh.m[id]
	var f features
	ok := s != nil
	if ok {
		f, ok = s.features(d, now.UnixNano())
	}
	sh.mu.Unlock()
	if !ok {
		return Inspection{}, false
	}
	f.shard = i
	in := Inspection{SessionID: id, Time: now, LastRequest: time.Unix(0, f.last).UTC(),
		Ended: f.idle >= d.cfg.EndedAfter.D().Seconds(), Evidence: d.evidence(&f)}
	for si, sc := range d.scorers {
		role := "shadow"
		switch {
		case si == 0 && d.cfg.DryRun:
			role = "dry_run"
		case si == 0:
			role = "active"
		}
		v, over := sc.score(&f, &pop)
		in.Scores = append(in.Scores, Score{Scorer: sc.name(), Role: role, Score: v, Threshold: sc.threshold(), Over: over,
			Features: sc.explain(&f, &pop), Explanation: sc.describe(&f, &pop)})
	}
	return in, true
}

// store writes the reported decisions to the DecisionStore, if any.
func (d *Detector) store(ctx context.Context, decs []Decision) {
	if d.deps.Decisions == nil {
		return
	}
	for _, dec := range decs {
		sctx, cancel := context.WithTimeout(ctx, storeTimeout)
		err := d.deps.Decisions.Put(sctx, dec)
		cancel()
		if err != nil {
			d.metrics.storeErrors.Inc()
			d.log.Warn("detect: cannot store a decision", "session_id", dec.SessionID, "scorer", dec.Scorer, "err", err)
		}
	}
}

// describe explains every term of the concurrency score, over the
// threshold or not: what an operator reads about a live session.
func (c *concurrencyScorer) describe(f *features, p *population) []string {
	t := c.terms(f, p)
	limit := c.cfg.Threshold * (1 + c.cfg.Margin)
	ref := "no reference rate yet"
	switch {
	case t.mediaSpeed:
		ref = fmt.Sprintf("%s s of media per second of one rendition, repeats included (%s allowed)", number(t.speed, 0), number(c.cfg.SpeedLimit, 0))
	case t.reference > 0:
		ref = fmt.Sprintf("%s requests/s against a reference of %s/s", number(f.rate, 0), number(t.reference, 0))
	}
	return []string{
		fmt.Sprintf("presence %s: %s at the same time, in %s", number(t.presence, limit), plural(max(f.locations, 1), "place"), plural(max(f.locCountries, 1), "country")),
		fmt.Sprintf("spread %s: %s in %s in use at once over the window (%d allowed)",
			number(t.spread, limit), plural(f.spread, "place"), plural(max(f.spreadCountries, 1), "country"), c.cfg.SpreadAllowance),
		fmt.Sprintf("renditions %s: one viewer fetched %s in parallel (%d allowed)", number(t.renditions, limit), plural(max(f.renditions, 1), "rendition"), c.cfg.RenditionsAllowed),
		fmt.Sprintf("download %s: %s s of media fetched ahead of real time (%s s allowed)", number(t.download, limit), number(f.ahead, 0),
			number(c.cfg.BufferAllowance.D().Seconds(), 0)),
		fmt.Sprintf("speed %s: %s", number(t.speedScore, limit), ref),
		fmt.Sprintf("%s score %s; revokes at %s or more", ScorerConcurrency, number(t.score(), limit), number(limit, 0)),
	}
}

// describe explains SMDE's score, over the threshold or not.
func (s *smdeScorer) describe(f *features, p *population) []string {
	if _, ok := s.terms(f, p); !ok {
		return []string{fmt.Sprintf("%s: not scored (fewer than %d sessions in the window, or a time range under %s)",
			ScorerSMDE, s.cfg.MinSessions, s.cfg.MinSessionDuration.D())}
	}
	return s.words(f, p)
}
