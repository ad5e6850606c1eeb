package simulate

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/detect"
)

// TestServeReportsEveryScorer runs the simulator's own stack (smd simulate
// --serve) for 15 s with a small audience: the report has a row for the
// active scorer and one for the shadow scorer, the concurrency scorer
// flags every token shared to 3+ addresses and no legitimate session, and
// the rows agree with the detector's decisions and with themselves. The
// edge's measurements meet the targets, as without --serve. Close removes
// the stack's directory.
func TestServeReportsEveryScorer(t *testing.T) {
	if testing.Short() {
		t.Skip("15 s of real time")
	}
	dc := detect.DefaultConfig()
	dc.Interval = detect.Duration(500 * time.Millisecond)
	// A small audience: the median rate of 3 steady sessions is the
	// reference for speed (the default asks 10).
	dc.Concurrency.MinSessions = 3
	// SMDE waits 30 s before it scores a session: 5 s, so that the shadow
	// scorer decides within the run too.
	dc.SMDE.MinSessionDuration = detect.Duration(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := StartStack(ctx, StackConfig{Detector: dc, Log: testLog("stack")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	cfg := classicConfig()
	st.Use(&cfg)
	cfg.Duration = 15 * time.Second
	cfg.Legit, cfg.LegitIPChange, cfg.LegitHome = 10, 0.2, 0.2
	cfg.Shared, cfg.ShareIPsMin, cfg.ShareIPsMax = 3, 3, 4
	cfg.Restreamers, cfg.RestreamerRate = 1, 50
	cfg.Seed = 5
	sim, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := sim.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	r.WriteText(&text)
	t.Logf("report:\n%s", text.String())

	if r.Scorer != detect.ScorerConcurrency || len(r.Scorers) != 2 || r.ScorersNote != "" {
		t.Fatalf("scorer %q, scorers %+v, note %q", r.Scorer, r.Scorers, r.ScorersNote)
	}
	active, shadow := r.Scorers[0], r.Scorers[1]
	if active.Scorer != detect.ScorerConcurrency || active.Role != RoleActive ||
		shadow.Scorer != detect.ScorerSMDE || shadow.Role != RoleShadow {
		t.Errorf("rows %s/%s, %s/%s", active.Scorer, active.Role, shadow.Scorer, shadow.Role)
	}
	if r.Shared3 != 3 || active.Shared3Flagged != r.Shared3 || active.LegitFlagged != 0 {
		t.Errorf("concurrency flagged %d of %d tokens shared to 3+, %d legitimate sessions",
			active.Shared3Flagged, r.Shared3, active.LegitFlagged)
	}
	if active.TimeToBlock == nil || *active.TimeToBlock != r.TimeToBlock || shadow.TimeToBlock != nil {
		t.Errorf("time to block: active %+v, shadow %+v, report %+v", active.TimeToBlock, shadow.TimeToBlock, r.TimeToBlock)
	}
	// The edge's side, as without --serve.
	if r.LegitBlocked != 0 || r.Shared3Blocked != r.Shared3 || !r.TargetsMet() {
		t.Errorf("targets: %+v", r.Targets)
	}

	// Each row against the detector's decisions: every decision about the
	// run's sessions is counted, during the play or after it; a session's
	// flag is its first decision.
	decs := st.Decisions.Decisions()
	type key struct{ scorer, session string }
	firstDec := map[key]time.Time{}
	perScorer := map[string]int{}
	for _, d := range decs {
		perScorer[d.Scorer]++
		k := key{d.Scorer, d.SessionID}
		if at, ok := firstDec[k]; !ok || d.Time.Before(at) {
			firstDec[k] = d.Time
		}
	}
	for _, row := range r.Scorers {
		if row.Decisions+row.AfterPlay != perScorer[row.Scorer] {
			t.Errorf("%s: %d decisions + %d after the play, the detector made %d", row.Scorer, row.Decisions, row.AfterPlay, perScorer[row.Scorer])
		}
		var flagged, abusive, legit, shared3, decisions int
		var ttf []time.Duration
		for _, s := range r.Sessions {
			for _, f := range s.Flags {
				if f.Scorer != row.Scorer {
					continue
				}
				if at, ok := firstDec[key{f.Scorer, s.ID}]; !ok || !at.Equal(f.At) {
					t.Errorf("%s flagged %s at %v, its first decision %v", f.Scorer, s.ID, f.At, at)
				}
				flagged++
				decisions += f.Decisions
				if s.Abusive {
					abusive++
					ttf = append(ttf, time.Duration(f.TimeToFlagS*float64(time.Second)))
					if s.Kind == KindShared && len(s.Devices) >= TargetShareIPs {
						shared3++
					}
				} else {
					legit++
				}
				if row.Role == RoleActive && s.Blocked && !f.At.Before(s.BlockedAt) {
					t.Errorf("%s blocked at %v, before the decision at %v", s.ID, s.BlockedAt, f.At)
				}
			}
		}
		if flagged != row.Flagged || abusive != row.AbusiveFlagged || legit != row.LegitFlagged ||
			shared3 != row.Shared3Flagged || decisions != row.Decisions || abusive+legit != flagged {
			t.Errorf("%s: row %+v; the sessions' flags give %d flagged (%d abusive, %d legit, %d shared 3+), %d decisions",
				row.Scorer, row, flagged, abusive, legit, shared3, decisions)
		}
		if flagged > 0 && (row.Precision == nil || *row.Precision != round(float64(abusive)/float64(flagged), 4)) {
			t.Errorf("%s: precision %v, %d of %d", row.Scorer, ratio(row.Precision), abusive, flagged)
		}
		if row.Recall == nil || *row.Recall != round(float64(abusive)/float64(r.Abusive), 4) {
			t.Errorf("%s: recall %v, %d of %d", row.Scorer, ratio(row.Recall), abusive, r.Abusive)
		}
		// The sessions' times are rounded to the millisecond.
		if got := summarize(ttf); row.TimeToFlag.N != got.N || math.Abs(row.TimeToFlag.MedianS-got.MedianS) > 0.0011 ||
			math.Abs(row.TimeToFlag.P95S-got.P95S) > 0.0011 {
			t.Errorf("%s: time to flag %+v, the sessions' give %+v", row.Scorer, row.TimeToFlag, got)
		}
	}

	if err := st.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if _, err := os.Stat(st.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the stack's directory %s is still there: %v", st.dir, err)
	}
}
