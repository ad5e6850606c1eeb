package simulate

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control"
)

func TestPercentile(t *testing.T) {
	s := func(secs ...float64) []time.Duration {
		var out []time.Duration
		for _, v := range secs {
			out = append(out, time.Duration(v*float64(time.Second)))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want Latency
	}{
		{"none", nil, Latency{}},
		{"one", s(3), Latency{N: 1, MedianS: 3, P95S: 3, MaxS: 3}},
		{"two", s(4, 2), Latency{N: 2, MedianS: 2, P95S: 4, MaxS: 4}},
		{"twenty", s(20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1), Latency{N: 20, MedianS: 10, P95S: 19, MaxS: 20}},
		{"twenty-one", s(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21), Latency{N: 21, MedianS: 11, P95S: 20, MaxS: 21}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := summarize(tc.in); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// fakeRun makes a Simulation whose sessions have played as given, without
// a network, to check the report's arithmetic.
func fakeRun(t0 time.Time, played []*session) *Simulation {
	s := &Simulation{cfg: DefaultConfig(), asset: "a"}
	s.cfg.Edge, s.cfg.Seed = "http://edge", 7
	for _, p := range played {
		s.sessions = append(s.sessions, p)
		s.offsets = append(s.offsets, 0)
	}
	return s
}

// played makes a session with n devices that played from t0 for 20 s,
// with 2 segments a second per device, blocked after b (none if 0).
func played(id string, kind Kind, n int, t0 time.Time, b time.Duration) *session {
	ids := make([]Identity, n)
	for i := range ids {
		ids[i] = Identity{IP: netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), Country: "US", UserAgent: "ua"}
	}
	s := newSession(id, kind, "http://edge/x", ids)
	s.first, s.last = t0, t0.Add(20*time.Second)
	s.requests, s.segments = 60*n, 40*n
	s.status[200] = 60*n - 1
	if b > 0 {
		s.blocked = t0.Add(b)
		s.last = s.blocked
		s.status[403] = 1
	} else {
		s.errors = 1
	}
	return s
}

func TestReport(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	impersonator := func(id, victim string) *session {
		s := newSession(id, KindImpersonator, "http://edge/x", nil)
		s.victim = victim
		return s
	}
	sim := fakeRun(t0, []*session{
		impersonator("i1", "l1"), // revokes no one
		impersonator("i2", "l2"), // its victim is revoked (by the detector, here for another reason)
		played("l1", KindLegit, 1, t0, 0),
		played("l2", KindLegitHome, 2, t0, 12*time.Second), // a false positive, 80 segments in 2 x 12 s
		played("l3", KindLegitIPChange, 2, t0, 0),
		played("s1", KindShared, 3, t0, 4*time.Second),
		played("s2", KindShared, 5, t0, 0),                                  // missed
		played("s3", KindShared, 2, t0, 0),                                  // K=2: not in the 3+ target
		played("r1", KindRestreamer, 1, t0.Add(time.Second), 9*time.Second), // abuse from t0+1s
	})
	revs := revocations{bySession: map[string]control.Revocation{
		"l2": {Type: "auto", Score: 0.5, RevokedAt: t0.Add(11 * time.Second)},
		"s1": {Type: "auto", Score: 4, RevokedAt: t0.Add(3 * time.Second)},
		"r1": {Type: "manual", RevokedAt: t0.Add(9 * time.Second)},
		"s2": {Type: "auto", Score: 2, RevokedAt: t0.Add(19 * time.Second)}, // never seen blocked
	}}
	r := sim.report(t0, t0.Add(20*time.Second), revs)

	if r.Legit != 3 || r.LegitBlocked != 1 || r.Abusive != 4 || r.AbusiveBlocked != 2 || r.Shared3 != 2 || r.Shared3Blocked != 1 ||
		r.Impersonators != 2 || r.ImpersonationRevocations != 1 {
		t.Errorf("counts: %+v", r)
	}
	if ratio(r.Precision) != "0.667" || ratio(r.Recall) != "0.500" {
		t.Errorf("precision %s recall %s", ratio(r.Precision), ratio(r.Recall))
	}
	if r.TimeToBlock != (Latency{N: 2, MedianS: 4, P95S: 9, MaxS: 9}) {
		t.Errorf("time to block %+v", r.TimeToBlock)
	}
	if r.TimeToRevoke != (Latency{N: 3, MedianS: 8, P95S: 19, MaxS: 19}) {
		t.Errorf("time to revoke %+v", r.TimeToRevoke)
	}
	rv := r.Revocations
	if !rv.Checked || rv.Auto != 3 || rv.Manual != 1 || rv.ScoreMin != 0.5 || rv.ScoreMax != 4 || rv.NotBlocked != 1 {
		t.Errorf("revocations %+v", rv)
	}
	if r.Requests != 60*16 || r.Status["403"] != 3 || r.Status["200"] != 960-7 || r.Status["error"] != 4 {
		t.Errorf("requests %d status %v", r.Requests, r.Status)
	}
	var ip, home *KindStats
	for i := range r.Kinds {
		switch r.Kinds[i].Kind {
		case KindLegitIPChange:
			ip = &r.Kinds[i]
		case KindLegitHome:
			home = &r.Kinds[i]
		}
	}
	// An address change is one device; a home two.
	if ip.Devices != 1 || ip.SegmentsPerSecond != 4 || home.Devices != 2 || home.SegmentsPerSecond != 3.333 {
		t.Errorf("kinds %+v %+v", ip, home)
	}
	// One legitimate session blocked; 2 of 4 abusive ones (one token
	// shared to 3+ of 2); the p95 per kind misses for a kind with an
	// unblocked session; an impersonation revoked its victim.
	met := []bool{false, false, false, false, false}
	if len(r.Targets) != len(met) {
		t.Fatalf("targets %+v", r.Targets)
	}
	for i, tg := range r.Targets {
		if tg.Met != met[i] {
			t.Errorf("target %+v", tg)
		}
	}
	if r.TargetsMet() {
		t.Error("TargetsMet")
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"MISS  no legitimate session blocked (1 of 3 blocked)", "3 auto (score 0.5 to 4), 1 manual; 1 revoked but never answered blocked",
		"precision 0.667  recall 0.500", "requests 960: 200 953 403 3 error 4"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("text lacks %q:\n%s", s, b.String())
		}
	}
}

func TestReportNothingBlocked(t *testing.T) {
	t0 := time.Now()
	l1 := played("l1", KindLegit, 1, t0, 0)
	l1.fail(errNotPlaylist)
	r := fakeRun(t0, []*session{l1}).report(t0, t0.Add(time.Second), revocations{note: "no key"})
	if r.Precision != nil || r.Recall != nil || !r.TargetsMet() || r.Revocations.Checked || r.Problems != 1 {
		t.Errorf("%+v", r)
	}
	var b bytes.Buffer
	r.WriteText(&b)
	if !strings.Contains(b.String(), "precision n/a  recall n/a") || !strings.Contains(b.String(), "not read: no key") ||
		!strings.Contains(b.String(), "1 sessions stopped early on an error, e.g. l1 (legit): not an HLS playlist") {
		t.Errorf("text:\n%s", b.String())
	}
}
