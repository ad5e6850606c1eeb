package simulate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/detect"
)

// TestScorerStats checks the per-scorer table's arithmetic on a run
// played without a network: repeated decisions, decisions after the play,
// decisions about sessions of another run, a scorer that flagged nothing.
func TestScorerStats(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sim := fakeRun(t0, []*session{
		played("l1", KindLegit, 1, t0, 0),
		played("l2", KindLegitHome, 2, t0, 0),
		played("s1", KindShared, 3, t0, 4*time.Second),
		played("s2", KindShared, 4, t0, 0),
		played("s3", KindShared, 2, t0, 0),
		played("r1", KindRestreamer, 1, t0.Add(time.Second), 9*time.Second),
	})
	cfg := detect.DefaultConfig()
	cfg.Shadow = []string{detect.ScorerSMDE}
	log := NewDecisionLog(cfg)
	dec := func(scorer, id string, at time.Duration, score float64) {
		log.Record(detect.Decision{Time: t0.Add(at), Scorer: scorer, SessionID: id, Score: score,
			Active: scorer == cfg.Scorer, Outcome: "x", Features: map[string]float64{"ips": 3}})
	}
	const c, m = detect.ScorerConcurrency, detect.ScorerSMDE
	dec(c, "s1", 3*time.Second, 2)
	dec(c, "r1", 8*time.Second, 1.5) // 7 s after its first request
	dec(c, "s2", 6*time.Second, 1.5)
	dec(c, "s2", 5*time.Second, 1)  // earlier, reported later: the flag's time
	dec(c, "s3", 25*time.Second, 1) // after the play: not counted
	dec(m, "l2", 10*time.Second, 4)
	dec(m, "l2", 12*time.Second, 4.5)
	dec(m, "s2", 15*time.Second, 3)
	dec(m, "other-run", time.Second, 9)
	sim.cfg.Decisions = log
	if d := log.Decisions(); len(d) != 9 || d[0].Features != nil {
		t.Fatalf("log kept %d decisions, features %v", len(d), d[0].Features)
	}

	r := sim.report(t0, t0.Add(20*time.Second), revocations{bySession: nil})
	if len(r.Scorers) != 2 || r.ScorersNote != "" {
		t.Fatalf("scorers %+v note %q", r.Scorers, r.ScorersNote)
	}
	ptr := func(v float64) *float64 { return &v }
	want := []ScorerStats{
		{
			Scorer: c, Role: RoleActive, Decisions: 4, AfterPlay: 1, Flagged: 3, AbusiveFlagged: 3,
			Shared3Flagged: 2, Precision: ptr(1), Recall: ptr(0.75),
			TimeToFlag:  Latency{N: 3, MedianS: 5, P95S: 7, MaxS: 7},
			TimeToBlock: &Latency{N: 2, MedianS: 4, P95S: 9, MaxS: 9},
			Kinds: map[Kind]KindFlags{
				KindLegit: {Sessions: 1}, KindLegitHome: {Sessions: 1},
				KindRestreamer: {Sessions: 1, Flagged: 1, TimeToFlag: Latency{N: 1, MedianS: 7, P95S: 7, MaxS: 7}},
				KindShared:     {Sessions: 3, Flagged: 2, TimeToFlag: Latency{N: 2, MedianS: 3, P95S: 5, MaxS: 5}},
			},
		},
		{
			Scorer: m, Role: RoleShadow, Decisions: 3, Flagged: 2, AbusiveFlagged: 1, LegitFlagged: 1,
			Shared3Flagged: 1, Precision: ptr(0.5), Recall: ptr(0.25),
			TimeToFlag: Latency{N: 1, MedianS: 15, P95S: 15, MaxS: 15},
			Kinds: map[Kind]KindFlags{
				KindLegit: {Sessions: 1}, KindLegitHome: {Sessions: 1, Flagged: 1}, KindRestreamer: {Sessions: 1},
				KindShared: {Sessions: 3, Flagged: 1, TimeToFlag: Latency{N: 1, MedianS: 15, P95S: 15, MaxS: 15}},
			},
		},
	}
	for i, w := range want {
		a, _ := json.Marshal(r.Scorers[i])
		b, _ := json.Marshal(w)
		if !bytes.Equal(a, b) {
			t.Errorf("scorer %d:\n got %s\nwant %s", i, a, b)
		}
	}
	flags := map[string][]Flag{}
	for _, s := range r.Sessions {
		flags[s.ID] = s.Flags
	}
	if f := flags["s2"]; len(f) != 2 || f[0].Scorer != c || f[0].Decisions != 2 || f[0].TimeToFlagS != 5 || f[0].Score != 1 ||
		f[1].Scorer != m || f[1].TimeToFlagS != 15 {
		t.Errorf("s2 flags %+v", f)
	}
	if f := flags["l2"]; len(f) != 1 || f[0].Decisions != 2 || f[0].Score != 4 || !f[0].At.Equal(t0.Add(10*time.Second)) {
		t.Errorf("l2 flags %+v", f)
	}
	if len(flags["s3"]) != 0 || len(flags["l1"]) != 0 {
		t.Errorf("flags of s3 %+v, l1 %+v", flags["s3"], flags["l1"])
	}

	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		"concurrency  active        3          4      1.000   0.750  0 of 2     2 of 2        5.0 s     7.0 s         4.0 s      9.0 s",
		"       smde  shadow        2          3      0.500   0.250  1 of 2     1 of 2       15.0 s    15.0 s             -          -",
		"      shared  2 of 3, 5.0 s  1 of 3, 15.0 s",
		"  legit-home         0 of 1          1 of 1",
	} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, b.String())
		}
	}
	t.Logf("report:\n%s", b.String())

	// Against an external stack, the report says why there is no table.
	sim.cfg.Decisions = nil
	r = sim.report(t0, t0.Add(20*time.Second), revocations{})
	b.Reset()
	r.WriteText(&b)
	if r.Scorers != nil || !strings.Contains(b.String(), "per scorer: not measured: the stack is external") {
		t.Errorf("external report:\n%s", b.String())
	}
}

// TestDecisionLogRoles checks the roles of a dry run.
func TestDecisionLogRoles(t *testing.T) {
	cfg := detect.DefaultConfig()
	cfg.DryRun = true
	got := NewDecisionLog(cfg).Scorers()
	if len(got) != 2 || got[0] != (ScorerRole{detect.ScorerConcurrency, RoleDryRun}) || got[1] != (ScorerRole{detect.ScorerSMDE, RoleShadow}) {
		t.Errorf("roles %+v", got)
	}
}
