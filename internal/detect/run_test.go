package detect

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
	"github.com/smd-media/smd/internal/revocation"
)

// stores are the revocation and allowlist stores on a fresh NATS server,
// the allowlist on clk.
type stores struct {
	rev   *countingRevoker
	allow *revocation.AllowStore
}

// countingRevoker counts the revocations written.
type countingRevoker struct {
	*revocation.Store
	n atomic.Int64
}

func (c *countingRevoker) Revoke(ctx context.Context, e revocation.Entry, ttl time.Duration) (uint64, error) {
	c.n.Add(1)
	return c.Store.Revoke(ctx, e, ttl)
}

func openStores(t *testing.T, clk *clock) stores {
	t.Helper()
	_, nc := natstest.Single(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := natsstore.Open(ctx, nc, natsstore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	a := revocation.NewAllowStore(st.JS, st.Allowed)
	a.Now = clk.Now
	return stores{rev: &countingRevoker{Store: revocation.NewStore(st.JS, st.Revoked)}, allow: a}
}

// sharers returns three players of session id in three countries at once.
func sharers(id string, from, to time.Duration) []player {
	four := 4 * time.Second
	return []player{
		{session: id, ip: "203.0.113.10", country: "DE", ua: "Safari", from: from, to: to, every: four, streams: 2},
		{session: id, ip: "198.18.5.5", country: "US", ua: "Chrome", from: from, to: to, every: four, phase: 1300 * time.Millisecond, streams: 2},
		{session: id, ip: "100.70.1.1", country: "BR", ua: "Firefox", from: from, to: to, every: four, phase: 2600 * time.Millisecond, streams: 2},
	}
}

// homePair returns two devices of session id in one home, two titles:
// SMDE's formula flags them, the concurrency scorer does not.
func homePair(id string, from, to time.Duration) []player {
	return []player{
		{session: id, ip: "192.0.2.10", country: "DE", ua: "SmartTV", from: from, to: to, every: 4 * time.Second, streams: 2, content: "film1", vod: true},
		{session: id, ip: "192.0.2.11", country: "DE", ua: "Tablet", from: from, to: to, every: 4 * time.Second, phase: 1500 * time.Millisecond, streams: 2, content: "film2", vod: true},
	}
}

// recorder collects the decisions passed to OnDecision.
type recorder struct {
	mu   sync.Mutex
	decs []Decision
}

func (r *recorder) add(d Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.decs = append(r.decs, d)
}

func (r *recorder) all() []Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Decision(nil), r.decs...)
}

// now is the base of the NATS tests' timelines: revocations are stored
// with real expiry times, so the timeline sits before the real clock.
func base() time.Time { return time.Now().UTC().Truncate(time.Second).Add(-time.Hour) }

func TestTickRevokesThroughTheStore(t *testing.T) {
	b := base()
	clk := &clock{t: b}
	st := openStores(t, clk)
	ctx := context.Background()
	rec := &recorder{}
	reg := prometheus.NewRegistry()
	d := newTestDetector(t, clk, Deps{Revoker: st.rev, Allowlist: st.allow, OnDecision: rec.add, Metrics: reg}, func(c *Config) {
		c.Scorer, c.Shadow = ScorerConcurrency, []string{ScorerSMDE}
	})
	end := 300 * time.Second
	ps := append(background(12, 0, end), sharers("x", 0, end)...)
	ps = append(ps, homePair("y", 0, end)...)
	ps = append(ps, sharers("allowed1", 0, end)...)
	ps = append(ps, sharers("manual1", 0, end)...)
	feed(d, clk, mergeAt(b, ps...))
	if _, err := st.allow.Allow(ctx, revocation.Allowance{SessionID: "allowed1", Reason: "test rig"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.rev.Store.Revoke(ctx, revocation.Entry{SessionID: "manual1", Reason: "by hand"}, 0); err != nil {
		t.Fatal(err)
	}

	now := b.Add(end)
	out := d.Tick(ctx, now)
	want := map[[2]string]string{
		{"x", ScorerConcurrency}:        OutcomeRevoked,
		{"x", ScorerSMDE}:               OutcomeShadow,
		{"y", ScorerSMDE}:               OutcomeShadow,
		{"allowed1", ScorerConcurrency}: OutcomeAllowed,
		{"allowed1", ScorerSMDE}:        OutcomeShadow,
		{"manual1", ScorerConcurrency}:  OutcomeAlreadyRevoked,
		{"manual1", ScorerSMDE}:         OutcomeShadow,
	}
	got := map[[2]string]string{}
	for _, dec := range out {
		got[[2]string{dec.SessionID, dec.Scorer}] = dec.Outcome
	}
	if len(got) != len(want) {
		t.Errorf("decisions %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%v: outcome %q, want %q", k, got[k], v)
		}
	}
	if h := rec.all(); len(h) != len(out) {
		t.Errorf("hook saw %d decisions, Tick returned %d", len(h), len(out))
	}

	e, ok, err := st.rev.Get(ctx, "x")
	if err != nil || !ok {
		t.Fatalf("x not revoked: %v %v", ok, err)
	}
	if e.Type != revocation.TypeAuto || e.By != "detector" || !e.RevokedAt.Equal(now) || e.ExpiresAt.Sub(e.RevokedAt) != 7*24*time.Hour ||
		e.Score != 2.4 || e.Features["places"] != 3 || e.Features["place_countries"] != 3 || e.Reason == "" {
		t.Errorf("revocation %+v", e)
	}
	// It explains itself: the places, their countries, in words and as
	// evidence.
	if len(e.Explanation) < 2 || !strings.HasPrefix(e.Explanation[0], "played from 3 places at the same time in 3 countries") ||
		e.Reason != e.Explanation[0] {
		t.Errorf("explanation %q, reason %q", e.Explanation, e.Reason)
	}
	if ev := e.Evidence; ev == nil || len(ev.Addresses) != 3 || !slices.Equal(ev.Countries, []string{"BR", "DE", "US"}) ||
		len(ev.UserAgents) != 3 || ev.From.IsZero() || !ev.To.After(ev.From) {
		t.Errorf("evidence %+v", e.Evidence)
	}
	for _, id := range []string{"y", "allowed1"} {
		if _, ok, _ := st.rev.Get(ctx, id); ok {
			t.Errorf("%s revoked", id)
		}
	}
	if e, _, _ := st.rev.Get(ctx, "manual1"); e.Type != revocation.TypeManual || e.Reason != "by hand" {
		t.Errorf("manual revocation replaced: %+v", e)
	}
	if n := st.rev.n.Load(); n != 1 {
		t.Errorf("%d revocations written, want 1", n)
	}

	// The next evaluations see the same sessions: nothing new, nothing
	// written again.
	for i := 1; i <= 3; i++ {
		if out := d.Tick(ctx, now.Add(time.Duration(i)*2*time.Second)); len(out) != 0 {
			t.Errorf("tick %d: %+v", i, out)
		}
	}
	if n := st.rev.n.Load(); n != 1 {
		t.Errorf("%d revocations written after more ticks, want 1", n)
	}
	m := gather(t, reg)
	for k, v := range map[string]float64{
		"smd_detector_decisions_total{outcome=revoked,scorer=concurrency}":         1,
		"smd_detector_decisions_total{outcome=allowed,scorer=concurrency}":         1,
		"smd_detector_decisions_total{outcome=already_revoked,scorer=concurrency}": 1,
		"smd_detector_decisions_total{outcome=shadow,scorer=smde}":                 4,
		"smd_detector_revocations_total{scorer=concurrency}":                       1,
		"smd_detector_evaluations_total":                                           4,
	} {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
}

// TestManualUnrevokeIsNotUndone: an operator lifts an automatic
// revocation, with the hold-off the API writes, while the session goes on
// looking shared. The detector that revoked it remembers it for a
// lookback; the hold-off covers a detector without that memory (a restart,
// or the partition moved to another control plane): it leaves the
// session alone until the hold-off ends, then revokes it again.
func TestManualUnrevokeIsNotUndone(t *testing.T) {
	b := base().Add(-30 * time.Minute)
	clk := &clock{t: b}
	st := openStores(t, clk)
	ctx := context.Background()
	detector := func() *Detector {
		return newTestDetector(t, clk, Deps{Revoker: st.rev, Allowlist: st.allow}, func(c *Config) {
			c.Scorer, c.Shadow = ScorerConcurrency, nil
		})
	}
	d := detector()
	end := 25 * time.Minute
	evs := mergeAt(b, append(background(12, 0, end), sharers("x", 0, end)...)...)
	i := 0
	// tick plays the events up to at and evaluates there; outcomes
	// returns x's outcomes.
	tick := func(at time.Duration) (outcomes []string) {
		for ; i < len(evs) && !evs[i].Time.After(b.Add(at)); i++ {
			clk.Set(evs[i].Time)
			d.Observe(&evs[i])
		}
		clk.Set(b.Add(at))
		for _, dec := range d.Tick(ctx, b.Add(at)) {
			if dec.SessionID == "x" {
				outcomes = append(outcomes, dec.Outcome)
			}
		}
		return outcomes
	}
	revokedAt := time.Duration(-1)
	for at := time.Duration(0); at <= time.Minute && revokedAt < 0; at += 2 * time.Second {
		if slices.Contains(tick(at), OutcomeRevoked) {
			revokedAt = at
		}
	}
	if revokedAt < 0 {
		t.Fatal("x never revoked")
	}
	// The operator unrevokes: the API holds the detector off for the
	// lookback (10m), then lifts the revocation.
	if ok, err := st.allow.HoldOff(ctx, "x", "apikey:ops", 10*time.Minute); !ok || err != nil {
		t.Fatalf("hold off: %v %v", ok, err)
	}
	if ok, err := st.rev.Unrevoke(ctx, "x"); !ok || err != nil {
		t.Fatalf("unrevoke: %v %v", ok, err)
	}
	for _, restart := range []bool{false, true} {
		if restart {
			d = detector()
		}
		var outcomes []string
		for at := revokedAt + 2*time.Second; at < revokedAt+5*time.Minute; at += 2 * time.Second {
			outcomes = append(outcomes, tick(at)...)
		}
		if slices.Contains(outcomes, OutcomeRevoked) {
			t.Fatalf("restart %v: revoked again during the hold-off: %v", restart, outcomes)
		}
		if restart && !slices.Contains(outcomes, OutcomeAllowed) {
			t.Errorf("the hold-off was never consulted: %v", outcomes)
		}
		revokedAt += 5 * time.Minute
	}
	if _, ok, _ := st.rev.Get(ctx, "x"); ok {
		t.Fatal("x revoked during the hold-off")
	}
	// The hold-off over (at 10m), the sharing goes on: revoked again.
	var outcomes []string
	for at := revokedAt; at < revokedAt+time.Minute; at += 2 * time.Second {
		outcomes = append(outcomes, tick(at)...)
	}
	if !slices.Contains(outcomes, OutcomeRevoked) {
		t.Errorf("not revoked again after the hold-off: %v", outcomes)
	}
}

func TestTickModes(t *testing.T) {
	end := 300 * time.Second
	for _, tc := range []struct {
		name    string
		adj     func(*Config)
		revoker bool
		outcome string
	}{
		{"dry run", func(c *Config) { c.DryRun = true }, true, OutcomeDryRun},
		{"no revoker", nil, false, OutcomeNoRevoker},
		{"smde active", nil, true, OutcomeRevoked},
		{"smde in the shadow", func(c *Config) { c.Scorer, c.Shadow = ScorerConcurrency, []string{ScorerSMDE} }, true, OutcomeShadow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := base()
			clk := &clock{t: b}
			st := openStores(t, clk)
			deps := Deps{}
			if tc.revoker {
				deps.Revoker = st.rev
			}
			d := newTestDetector(t, clk, deps, func(c *Config) {
				c.Scorer, c.Shadow = ScorerSMDE, []string{ScorerConcurrency}
				if tc.adj != nil {
					tc.adj(c)
				}
			})
			feed(d, clk, mergeAt(b, append(background(12, 0, end), homePair("y", 0, end)...)...))
			out := d.Tick(context.Background(), b.Add(end))
			dec, ok := of(out, ScorerSMDE, "y")
			if !ok || dec.Outcome != tc.outcome || dec.Active != (tc.outcome != OutcomeShadow) {
				t.Fatalf("decision %+v %v, want %s", dec, ok, tc.outcome)
			}
			if _, ok, _ := st.rev.Get(context.Background(), "y"); ok != (tc.outcome == OutcomeRevoked) {
				t.Errorf("revoked %v", ok)
			}
		})
	}
}

// failingStore fails every call.
type failingStore struct{}

func (failingStore) Revoke(context.Context, revocation.Entry, time.Duration) (uint64, error) {
	return 0, errors.New("nats: down")
}
func (failingStore) Get(context.Context, string) (revocation.Entry, bool, error) {
	return revocation.Entry{}, false, nil
}
func (failingStore) Allowed(context.Context, string) (bool, error) {
	return false, errors.New("nats: down")
}

// TestTickRetriesFailures: a failed check or write is reported once, then
// tried again (and counted) at every evaluation.
func TestTickRetriesFailures(t *testing.T) {
	clk := &clock{t: t0}
	for _, deps := range []Deps{{Revoker: failingStore{}}, {Revoker: failingStore{}, Allowlist: failingStore{}}} {
		reg := prometheus.NewRegistry()
		deps.Metrics = reg
		d := newTestDetector(t, clk, deps, func(c *Config) { c.Scorer, c.Shadow = ScorerSMDE, nil })
		feed(d, clk, merge(append(background(12, 0, 300*time.Second), homePair("y", 0, 300*time.Second)...)...))
		for i := range 3 {
			out := d.Tick(context.Background(), t0.Add(300*time.Second+time.Duration(i)*time.Second))
			if dec, ok := of(out, ScorerSMDE, "y"); ok != (i == 0) || ok && dec.Outcome != OutcomeFailed {
				t.Errorf("tick %d: %+v %v", i, dec, ok)
			}
		}
		if n := gather(t, reg)["smd_detector_decisions_total{outcome=failed,scorer=smde}"]; n != 3 {
			t.Errorf("failures counted %v, want 3", n)
		}
	}
}

// TestRun: Run evaluates on its interval and returns when its context
// ends.
func TestRun(t *testing.T) {
	b := base()
	end := 300 * time.Second
	clk := &clock{t: b}
	st := openStores(t, clk)
	d := newTestDetector(t, clk, Deps{Revoker: st.rev}, func(c *Config) {
		c.Interval = Duration(10 * time.Millisecond)
		c.Scorer, c.Shadow = ScorerSMDE, nil
	})
	feed(d, clk, mergeAt(b, append(background(12, 0, end), homePair("y", 0, end)...)...))
	clk.Set(b.Add(end))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	deadline := time.Now().Add(time.Minute)
	for st.rev.n.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run never revoked")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return")
	}
	if e, ok, _ := st.rev.Get(context.Background(), "y"); !ok || e.Type != revocation.TypeAuto || math.IsNaN(e.Score) {
		t.Errorf("revocation %+v %v", e, ok)
	}
}
