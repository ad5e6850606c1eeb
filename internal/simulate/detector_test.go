package simulate

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/detect"
)

// TestDetectorMeetsTargets is issue 5's "done when" in small: smd serve
// with the detector on (its default scorer), synthetic viewers and
// pirates for 15 s: no legitimate session blocked, every token shared to
// 3+ addresses blocked, the restreamer blocked, p95 time to block within
// the target; an impersonator (a legitimate session's id written in front
// of its own token on exc paths, from 4 addresses) revokes no one.
// Revocations are read back as automatic, with a score.
func TestDetectorMeetsTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("15 s of real time")
	}
	st := startStack(t, func(c *config.Serve) {
		c.Detector = detect.DefaultConfig()
		c.Detector.Interval = detect.Duration(500 * time.Millisecond)
		// A small audience: the median rate of 3 steady sessions is the
		// reference for speed (the default asks 10).
		c.Detector.Concurrency.MinSessions = 3
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := DefaultConfig()
	if err := cfg.ApplyScenario(ScenarioClassic, nil); err != nil {
		t.Fatal(err)
	}
	cfg.Edge = st.edge
	cfg.API = st.admin
	cfg.Duration = 15 * time.Second
	cfg.Legit, cfg.LegitIPChange, cfg.LegitHome = 10, 0.2, 0.2
	cfg.Shared, cfg.ShareIPsMin, cfg.ShareIPsMax = 3, 3, 4
	cfg.Restreamers, cfg.RestreamerRate = 1, 50
	cfg.Impersonators = 1
	cfg.ScorerLabel = detect.ScorerConcurrency
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
	if r.LegitBlocked != 0 {
		t.Errorf("%d legitimate sessions blocked", r.LegitBlocked)
	}
	if r.Shared3 != 3 || r.Shared3Blocked != r.Shared3 {
		t.Errorf("tokens shared to 3+ addresses blocked: %d of %d, want 3 of 3", r.Shared3Blocked, r.Shared3)
	}
	if r.AbusiveBlocked != r.Abusive {
		t.Errorf("abusive sessions blocked: %d of %d", r.AbusiveBlocked, r.Abusive)
	}
	if r.Impersonators != 1 || r.ImpersonationRevocations != 0 {
		t.Errorf("%d impersonators caused %d revocations", r.Impersonators, r.ImpersonationRevocations)
	}
	if !r.TargetsMet() {
		t.Errorf("targets missed: %+v", r.Targets)
	}
	for _, s := range r.Sessions {
		if s.Blocked && (s.Revocation == nil || s.Revocation.Type != "auto" || s.Revocation.Score <= 0) {
			t.Errorf("session %s blocked without an automatic, scored revocation: %+v", s.ID, s.Revocation)
		}
	}
}

// TestHidingMeetsTargets is issue 11's "done when" in small (the CI short
// form; docs/simulate.md has the long runs): smd serve with the detector's
// defaults, for 35 s, one of each kind that hides (a token asked for from
// 20 places every 30 s, in one and in five countries; a restreamer pulling
// every rendition at real time; downloaders of a long VOD title at 4x and
// 10x) beside one of each hard legitimate kind and a few players: no
// legitimate session blocked, every abusive one blocked, each kind within
// its p95 target, and each revocation explaining itself.
func TestHidingMeetsTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("35 s of real time")
	}
	st := startStack(t, func(c *config.Serve) {
		c.Detector = detect.DefaultConfig()
		// A small audience: the median rate of 3 steady sessions is the
		// reference for speed (the default asks 10).
		c.Detector.Concurrency.MinSessions = 3
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := DefaultConfig()
	if err := cfg.ApplyScenario(ScenarioClassic, nil); err != nil {
		t.Fatal(err)
	}
	cfg.Edge, cfg.API = st.edge, st.admin
	cfg.Duration = 35 * time.Second
	cfg.Legit, cfg.LegitIPChange, cfg.LegitHome = 6, 0.2, 0.2
	cfg.Shared, cfg.Restreamers, cfg.Impersonators = 1, 0, 1
	cfg.Wide, cfg.WideIntl, cfg.Relays, cfg.Downloaders4x, cfg.Downloaders10x = 1, 1, 1, 1, 1
	cfg.Households, cfg.CGNAT, cfg.Mobiles, cfg.Seekers, cfg.ABR, cfg.Pausers, cfg.TVs, cfg.LongVOD = 1, 1, 1, 1, 1, 1, 1, 1
	cfg.ScorerLabel = detect.ScorerConcurrency
	cfg.Seed = 11
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
	if r.LegitBlocked != 0 {
		t.Errorf("%d legitimate sessions blocked", r.LegitBlocked)
	}
	if r.Abusive != 6 || r.AbusiveBlocked != r.Abusive {
		t.Errorf("abusive sessions blocked: %d of %d, want 6 of 6", r.AbusiveBlocked, r.Abusive)
	}
	if !r.TargetsMet() {
		t.Errorf("targets missed: %+v", r.Targets)
	}
	for _, s := range r.Sessions {
		if !s.Abusive || s.Revocation == nil {
			continue
		}
		rv := s.Revocation
		if rv.Type != "auto" || len(rv.Explanation) < 2 || rv.Evidence == nil || len(rv.Evidence.Addresses) == 0 {
			t.Errorf("%s (%s): revocation does not explain itself: %+v", s.ID, s.Kind, rv)
		}
	}
	// Why a session was not revoked: a household's live scores, each
	// under its threshold, every term in words; and why one was: the
	// stored decision of the active scorer.
	for _, s := range r.Sessions {
		if s.Kind != KindHousehold && s.Kind != KindWide {
			continue
		}
		sd, err := st.admin.SessionDetector(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sd.Live == nil || len(sd.Live.Scores) != 2 || sd.Live.Scores[0].Scorer != detect.ScorerConcurrency || sd.Live.Scores[0].Role != "active" ||
			len(sd.Live.Scores[0].Explanation) < 5 || sd.Live.Evidence == nil {
			t.Fatalf("%s (%s): live view %+v (%s)", s.ID, s.Kind, sd.Live, sd.LiveNote)
		}
		switch s.Kind {
		case KindHousehold:
			if sd.Live.Scores[0].Over || len(sd.Live.Evidence.UserAgents) != 3 {
				t.Errorf("household: %+v", sd.Live)
			}
		case KindWide:
			var active *control.StoredDecision
			for i := range sd.Decisions {
				if sd.Decisions[i].Active {
					active = &sd.Decisions[i]
				}
			}
			if !sd.Live.Scores[0].Over || active == nil || active.Outcome != detect.OutcomeRevoked || len(active.Explanation) < 2 {
				t.Errorf("wide: live %+v, decisions %+v", sd.Live.Scores[0], sd.Decisions)
			}
		}
	}
}
