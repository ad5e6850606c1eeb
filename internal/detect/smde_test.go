package detect

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
)

// smdeScenario is a window of six sessions whose SMDE terms are computed
// by hand below.
func smdeScenario() []accesslog.Event {
	var evs []accesslog.Event
	add := func(session, ip, ua, ref, uri string, at time.Duration) {
		evs = append(evs, accesslog.Event{
			Time: t0.Add(at), SessionID: session, Status: 200, BytesSent: 2000, ViewerIP: ip,
			UserAgent: ua, Referer: ref, OriginPath: uri,
		})
	}
	seg := func(i int) string { return fmt.Sprintf("/v/seg%03d.ts", i) }
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	// s1: 10 URIs over 90s: rate 10/90.
	for i := range 10 {
		add("s1", "203.0.113.1", "ua", "", seg(i), sec(10*i))
	}
	// s2: 19 segments and a playlist fetched five times (one pair), the
	// first segment again at 100s (not distinct either): 20 pairs over
	// 100s, rate 0.2.
	for i := range 19 {
		add("s2", "203.0.113.2", "ua", "", seg(i), sec(5*i))
	}
	for i := range 5 {
		add("s2", "203.0.113.2", "ua", "", "/v/index.m3u8", sec(12*i))
	}
	add("s2", "203.0.113.2", "ua", "", seg(0), sec(100))
	// s3: the same 15 URIs from two IPs (30 distinct pairs) with two user
	// agents, over 100s: rate 0.3.
	for i := range 15 {
		add("s3", "203.0.113.3", "ua1", "", seg(i), sec(5*i))
		add("s3", "198.18.0.3", "ua2", "", seg(i), sec(30+5*i))
	}
	// s4: 5 URIs over 8s: rate 0.625, in the median but too short to
	// score.
	for i := range 5 {
		add("s4", "203.0.113.4", "ua", "", seg(i), sec(2*i))
	}
	// s5: one request: time range 0, out of the median, yet a session.
	add("s5", "203.0.113.5", "ua", "", seg(0), 0)
	// s6: 20 URIs over 100s (rate 0.2) with two referers (an absent one
	// counts, as CloudFront's "-").
	for i := range 20 {
		ref := ""
		if i%2 == 1 {
			ref = "https://site.example/"
		}
		add("s6", "203.0.113.6", "ua", ref, seg(i), sec(100*i/19))
	}
	return evs
}

// TestSMDEFormula reproduces SMDE's query on hand-computed numbers.
//
// Rates request_cnt/time_range of the sessions with a time range: s1
// 10/90, s2 20/100, s3 30/100, s4 5/8, s6 20/100; sorted 0.111, 0.2,
// 0.2, 0.3, 0.625: the (lower) median is 0.2. Six sessions >= 3. Scored
// (time_range >= 30s): s1, s2, s3, s6.
//
//	s1: ip_rate (10/90)/0.2 = 0.5556                          = 0.5556
//	s2: ip_rate 0.2/0.2 = 1                                   = 1
//	s3: ip_rate 0.3/0.2 = 1.5, +1 (2 IPs), +1 (2 user agents) = 3.5  > 2.2
//	s6: ip_rate 1, +1 (2 referers)                            = 2
func TestSMDEFormula(t *testing.T) {
	type want struct {
		flagged bool
		score   float64
		terms   map[string]float64
	}
	tests := []struct {
		name string
		adj  func(*SMDEConfig)
		want map[string]want
	}{
		{
			name: "defaults",
			want: map[string]want{
				"s1": {false, 10.0 / 90 / 0.2, map[string]float64{"requests": 10, "time_range_s": 90, "ip_penalty": 0}},
				"s2": {false, 1, map[string]float64{"requests": 20, "time_range_s": 100, "ip_rate": 1}},
				"s3": {true, 3.5, map[string]float64{"requests": 30, "time_range_s": 100, "ips": 2, "user_agents": 2,
					"ip_rate": 1.5, "ip_penalty": 1, "ua_penalty": 1, "referer_penalty": 0, "median_rate": 0.2, "sessions": 6}},
				"s6": {false, 2, map[string]float64{"referers": 2, "referer_penalty": 1, "ip_rate": 1}},
			},
		},
		{
			name: "the threshold is strict: a score of exactly 2 is not over 2",
			adj:  func(c *SMDEConfig) { c.ScoreThreshold = 2 },
			want: map[string]want{"s3": {true, 3.5, nil}, "s6": {false, 2, nil}},
		},
		{
			name: "under 2",
			adj:  func(c *SMDEConfig) { c.ScoreThreshold = 1.9 },
			want: map[string]want{"s3": {true, 3.5, nil}, "s6": {true, 2, nil}, "s2": {false, 1, nil}},
		},
		{
			name: "weights",
			adj: func(c *SMDEConfig) {
				c.IPRate, c.IPPenalty, c.RefererPenalty, c.UAPenalty, c.ScoreThreshold = 2, 0.25, 0.5, 0, 2.1
			},
			want: map[string]want{
				"s2": {false, 2, nil},
				"s3": {true, 3.25, nil}, // 2*1.5 + 0.25
				"s6": {true, 2.5, nil},  // 2*1 + 0.5
			},
		},
		{
			name: "too few sessions: nothing is scored",
			adj:  func(c *SMDEConfig) { c.MinSessions = 7 },
			want: map[string]want{"s3": {false, 0, nil}},
		},
		{
			name: "too short: nothing is scored",
			adj:  func(c *SMDEConfig) { c.MinSessionDuration = Duration(101 * time.Second) },
			want: map[string]want{"s3": {false, 0, nil}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: t0}
			d := newTestDetector(t, clk, Deps{}, func(c *Config) {
				if tc.adj != nil {
					tc.adj(&c.SMDE)
				}
			})
			evs := smdeScenario()
			clk.Set(t0.Add(100 * time.Second))
			for i := range evs {
				d.Observe(&evs[i])
			}
			decs := d.Evaluate(t0.Add(200 * time.Second))
			sc := d.scorers[d.scorerIndex(ScorerSMDE)].(*smdeScorer)
			pop := d.population(d.parts)
			if pop.sessions != 6 || math.Abs(pop.medianRate-0.2) > 1e-12 {
				t.Fatalf("population %+v, want 6 sessions and a median of 0.2", pop)
			}
			for id, w := range tc.want {
				f := feat(t, d, id)
				score, over := sc.score(f, &pop)
				if _, flagged := of(decs, ScorerSMDE, id); flagged != w.flagged || over != w.flagged {
					t.Errorf("%s: flagged %v (over %v), want %v", id, flagged, over, w.flagged)
				}
				if math.Abs(score-w.score) > 1e-9 {
					t.Errorf("%s: score %v, want %v", id, score, w.score)
				}
				got := sc.explain(f, &pop)
				for k, v := range w.terms {
					if math.Abs(got[k]-v) > 1e-9 {
						t.Errorf("%s: %s = %v, want %v", id, k, got[k], v)
					}
				}
			}
		})
	}
}

// feat returns the features of session id at the last evaluation.
func feat(t *testing.T, d *Detector, id string) *features {
	t.Helper()
	if f, ok := d.session(id); ok {
		return f
	}
	t.Fatalf("session %s not evaluated", id)
	return nil
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1}, 1},
		{[]float64{0.3, 0.111, 0.625, 0.2}, 0.2},
		{[]float64{5, 1, 4, 2, 3}, 3},
		{[]float64{2, 2, 2, 1, 1, 1}, 1},
		{[]float64{9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, 4},
	} {
		if got := median(append([]float64(nil), tc.in...)); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
