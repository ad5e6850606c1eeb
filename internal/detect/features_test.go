package detect

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/accesslog"
)

// bitmap reads a timeline, oldest slot first: 'a' active, '.' not.
func bitmap(s string) uint64 {
	var b uint64
	for i, c := range s {
		if c != '.' {
			b |= 1 << uint(len(s)-1-i)
		}
	}
	return b
}

func TestConcurrent(t *testing.T) {
	tests := []struct {
		name     string
		a, b     string
		switches int
		conc     bool // with min_overlap 2, min_switches 3
	}{
		{"one handover", "aaaaaa......", "......bbbbbb", 1, false},
		{"handover through one shared slot", "aaaaaa......", ".....bbbbbbb", 1, false},
		// Two shared slots are as much as two players in step: two places
		// (presence 0.5, which alone never revokes).
		{"handover through two shared slots", "aaaaaa......", "....bbbbbbbb", 3, true},
		{"handover through three shared slots", "aaaaaa......", "...bbbbbbbbb", 3, true},
		{"there and back", "aaa.....aaaa", "...bbbbb....", 2, false},
		{"two players, every other slot", "a.a.a.a.a.a.", ".b.b.b.b.b.b", 11, true},
		{"two players in step", "a...a...a...", "b...b...b...", 3, true},
		{"two players, one just starting", "a.a.a.a.a.a.", "..........b.", 1, false},
		{"apart", "aaa.........", ".......bbb..", 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := bitmap(tc.a), bitmap(tc.b)
			if got := switches(a, b); got != tc.switches {
				t.Errorf("switches = %d, want %d", got, tc.switches)
			}
			if got := concurrent(a, b, 2, 3); got != tc.conc {
				t.Errorf("concurrent = %v, want %v", got, tc.conc)
			}
			if concurrent(a, b, 2, 3) != concurrent(b, a, 2, 3) {
				t.Error("not symmetric")
			}
		})
	}
}

func TestBestClique(t *testing.T) {
	// Three places at once (a, b, c), and d where a's player went.
	ns := []node{
		{bits: bitmap("a.a.a.a.a......."), country: country("DE")},
		{bits: bitmap(".b.b.b.b.b.b.b.b"), country: country("DE")},
		{bits: bitmap("c.c.c.c.c.c.c.c."), country: country("US")},
		{bits: bitmap("..........dddddd"), country: country("DE")},
	}
	size := func(m uint32) float64 { return float64(popcount(m)) }
	if got := bestClique(ns, 2, 3, size); popcount(got) != 3 || got&0b1001 == 0b1001 {
		t.Errorf("largest: %04b, want three places, never a with d", got)
	}
	// A score that prefers countries picks a set with two.
	byCountry := func(m uint32) float64 { return float64(countriesOf(ns, m)) }
	if got := bestClique(ns, 2, 3, byCountry); countriesOf(ns, got) != 2 {
		t.Errorf("by country: %04b", got)
	}
}

func popcount(m uint32) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

// TestWindow: requests slide out of the lookback, and a session without
// any is forgotten.
func TestWindow(t *testing.T) {
	clk := &clock{t: t0}
	d := newTestDetector(t, clk, Deps{}, func(c *Config) { c.Lookback = Duration(5 * time.Minute) })
	early := player{session: "s", ip: "203.0.113.1", ua: "ua", to: 10 * time.Second, every: time.Second, content: "a"}
	late := player{session: "s", ip: "198.18.0.1", ua: "ua2", from: 400 * time.Second, to: 410 * time.Second, every: time.Second, content: "b"}
	feed(d, clk, merge(early, late))
	d.Evaluate(t0.Add(410 * time.Second))
	f := feat(t, d, "s")
	if f.requests != 10 || f.ips != 1 || f.uas != 1 || f.timeRange != 9 || f.first != t0.Add(400*time.Second).UnixNano() {
		t.Errorf("features %+v: want only the late 10 requests", *f)
	}
	if d.Tracked() != 1 {
		t.Fatalf("tracked %d", d.Tracked())
	}
	// Just before the last request leaves the window, and after.
	d.Evaluate(t0.Add(409*time.Second + 5*time.Minute - 15*time.Second))
	if d.Tracked() != 1 {
		t.Errorf("forgotten too early")
	}
	d.Evaluate(t0.Add(410*time.Second + 5*time.Minute + 10*time.Second))
	if d.Tracked() != 0 {
		t.Errorf("tracked %d after the window, want 0", d.Tracked())
	}
}

// TestDistinctPairs: SMDE counts distinct (IP, URI) pairs.
func TestDistinctPairs(t *testing.T) {
	clk := &clock{t: t0}
	d := newTestDetector(t, clk, Deps{}, nil)
	var evs []accesslog.Event
	add := func(ip, uri string, at time.Duration, status int) {
		evs = append(evs, accesslog.Event{Time: t0.Add(at), SessionID: "s", Status: status, BytesSent: 5000, ViewerIP: ip, OriginPath: uri})
	}
	for i := range 100 { // a live playlist refreshed 100 times, between segments
		add("203.0.113.1", "/live/index.m3u8", time.Duration(i)*2*time.Second, 200)
		add("203.0.113.1", fmt.Sprintf("/live/seg%d.ts", i), time.Duration(i)*2*time.Second+time.Second, 200)
	}
	for i := range 10 { // byte ranges of one file
		add("203.0.113.1", "/vod/movie.mp4", 250*time.Second+time.Duration(i)*time.Second, 206)
	}
	add("198.18.0.1", "/vod/movie.mp4", 261*time.Second, 206) // the same URI from another IP
	feed(d, clk, evs)
	d.Evaluate(clk.Now())
	if f := feat(t, d, "s"); f.requests != 1+100+1+1 {
		t.Errorf("requests %d, want 103 (playlist, 100 segments, movie from two IPs)", f.requests)
	}
}

// TestObserveFilters: only what SMDE's query counts is counted.
func TestObserveFilters(t *testing.T) {
	clk := &clock{t: t0.Add(time.Hour)}
	reg := prometheus.NewRegistry()
	d := newTestDetector(t, clk, Deps{Metrics: reg}, nil)
	ev := func(f func(*accesslog.Event)) *accesslog.Event {
		e := &accesslog.Event{Time: clk.Now(), SessionID: "s1", Status: 200, BytesSent: 1025, ViewerIP: "203.0.113.1", OriginPath: "/a"}
		f(e)
		return e
	}
	for _, e := range []*accesslog.Event{
		ev(func(*accesslog.Event) {}),
		ev(func(e *accesslog.Event) { e.Status = 206; e.OriginPath = "/b" }),
		ev(func(e *accesslog.Event) { e.Time = time.Time{}; e.OriginPath = "/c" }),                     // no time: now
		ev(func(e *accesslog.Event) { e.Time = clk.Now().Add(time.Hour); e.OriginPath = "/d" }),        // stamped ahead: now
		ev(func(e *accesslog.Event) { e.Time = clk.Now().Add(-9 * time.Minute); e.OriginPath = "/e" }), // old, in the window
		ev(func(e *accesslog.Event) { e.Status = 404 }),
		ev(func(e *accesslog.Event) { e.Status = 403 }),
		ev(func(e *accesslog.Event) { e.Status = 304 }),
		ev(func(e *accesslog.Event) { e.BytesSent = 1024 }),
		ev(func(e *accesslog.Event) { e.SessionID = "" }),
		ev(func(e *accesslog.Event) { e.SessionUnproven = true; e.ViewerIP = "192.0.2.99"; e.OriginPath = "/f" }),
		ev(func(e *accesslog.Event) { e.SessionID = "a-b" }),
		ev(func(e *accesslog.Event) { e.SessionID = strings.Repeat("s", 201) }),
		ev(func(e *accesslog.Event) { e.Time = clk.Now().Add(-11 * time.Minute) }),
	} {
		d.Observe(e)
	}
	m := gather(t, reg)
	for k, want := range map[string]float64{
		"smd_detector_events_total{result=counted}":          5,
		"smd_detector_events_total{result=status}":           3,
		"smd_detector_events_total{result=small}":            1,
		"smd_detector_events_total{result=no_session}":       1,
		"smd_detector_events_total{result=unproven_session}": 1,
		"smd_detector_events_total{result=invalid_session}":  2,
		"smd_detector_events_total{result=late}":             1,
		"smd_detector_sessions":                              1,
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	d.Evaluate(clk.Now())
	f := feat(t, d, "s1")
	if f.requests != 5 || f.last != clk.Now().UnixNano() || f.timeRange != 9*60 {
		t.Errorf("features %+v", *f)
	}
	if m := gather(t, reg); m["smd_detector_evaluations_total"] != 1 || m["smd_detector_evaluation_seconds"] != 1 {
		t.Errorf("evaluation metrics %v", m)
	}
}

// TestMaxSessions: memory stays bounded; the least recently active of a
// sample goes.
func TestMaxSessions(t *testing.T) {
	clk := &clock{t: t0}
	reg := prometheus.NewRegistry()
	d := newTestDetector(t, clk, Deps{Metrics: reg}, func(c *Config) { c.MaxSessions = nShards })
	for i := range 100 * nShards {
		clk.Set(t0.Add(time.Duration(i) * time.Millisecond))
		d.Observe(&accesslog.Event{Time: clk.Now(), SessionID: fmt.Sprintf("s%d", i), Status: 200, BytesSent: 5000, ViewerIP: "203.0.113.1", OriginPath: "/a"})
	}
	if d.Tracked() > nShards {
		t.Errorf("tracked %d, cap %d", d.Tracked(), nShards)
	}
	m := gather(t, reg)
	if m["smd_detector_sessions_forgotten_total{reason=evicted}"]+m["smd_detector_sessions"] != 100*nShards {
		t.Errorf("evicted + tracked = %v + %v, want %d", m["smd_detector_sessions_forgotten_total{reason=evicted}"], m["smd_detector_sessions"], 100*nShards)
	}
	// The last session observed is held.
	d.Evaluate(clk.Now())
	feat(t, d, fmt.Sprintf("s%d", 100*nShards-1))
}

// TestObserveConcurrently runs Observe from several goroutines beside
// Evaluate (for the race detector) and checks nothing is lost.
func TestObserveConcurrently(t *testing.T) {
	clk := &clock{t: t0.Add(time.Minute)}
	reg := prometheus.NewRegistry()
	d := newTestDetector(t, clk, Deps{Metrics: reg}, nil)
	const workers, per = 4, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				d.Observe(&accesslog.Event{Time: t0.Add(time.Duration(i) * time.Millisecond), SessionID: fmt.Sprintf("w%d_%d", w, i%50),
					Status: 200, BytesSent: 5000, ViewerIP: "203.0.113.1", OriginPath: fmt.Sprintf("/seg%d", i)})
			}
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			d.Evaluate(clk.Now())
		}
	}()
	wg.Wait()
	<-done
	if m := gather(t, reg); m["smd_detector_events_total{result=counted}"] != workers*per || d.Tracked() != workers*50 {
		t.Errorf("counted %v, tracked %d", m["smd_detector_events_total{result=counted}"], d.Tracked())
	}
	d.Evaluate(clk.Now())
	total := 0
	for _, fs := range d.parts {
		for i := range fs {
			total += fs[i].requests
		}
	}
	if total != workers*per {
		t.Errorf("requests %d, want %d", total, workers*per)
	}
}
