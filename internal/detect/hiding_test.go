package detect

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/mediatime"
	"github.com/smd-media/smd/internal/revocation"
)

// replay feeds players' events to d, evaluating every 2 s from 0 to end,
// and returns, per session, the offset of the active scorer's first
// decision that would be enforced (not ended), and every such decision.
func replay(t *testing.T, d *Detector, clk *clock, end time.Duration, ps ...player) (map[string]time.Duration, []Decision) {
	t.Helper()
	evs := merge(ps...)
	first := map[string]time.Duration{}
	var all []Decision
	i := 0
	for at := time.Duration(0); at <= end; at += 2 * time.Second {
		for ; i < len(evs) && !evs[i].Time.After(t0.Add(at)); i++ {
			clk.Set(evs[i].Time)
			d.Observe(&evs[i])
		}
		clk.Set(t0.Add(at))
		for _, dec := range d.Evaluate(t0.Add(at)) {
			if !dec.Active || dec.Ended {
				continue
			}
			all = append(all, dec)
			if _, ok := first[dec.SessionID]; !ok {
				first[dec.SessionID] = at
			}
		}
	}
	return first, all
}

// wide returns n players of one token, each asking once every 30 s from
// an address of its own /24, starting within the first second; countries
// cycle through ctys.
func wide(session string, n int, ctys []string, from, to time.Duration) []player {
	var ps []player
	for i := range n {
		ps = append(ps, player{
			session: session, ip: fmt.Sprintf("203.0.%d.9", 100+i), country: ctys[i%len(ctys)], ua: "Chrome",
			from: from, to: to, every: 30 * time.Second, phase: time.Duration(i) * 45 * time.Millisecond, streams: 1,
		})
	}
	return ps
}

// TestWhatHides: the kinds of abuse that the concurrency scorer used to
// miss are flagged within 10 s (so blocked within the target with the
// evaluation interval and the way to the edge), beside ordinary viewers
// who are never flagged.
func TestWhatHides(t *testing.T) {
	const start, end = 120 * time.Second, 300 * time.Second
	two := 2 * time.Second
	tests := []struct {
		name    string
		players []player
		// words must appear in the first sentence of the explanation.
		words string
	}{
		{"token asked for from 20 places in one country, each once every 30 s",
			wide("x", 20, []string{"DE"}, start, end), "seen from 20 places in 1 country, all in use within"},
		{"token asked for from 20 places in 5 countries, each once every 30 s",
			wide("x", 20, []string{"DE", "FR", "US", "BR", "JP"}, start, end), "in 5 countries"},
		{"VOD downloader at 10 times real time",
			[]player{{session: "x", ip: "203.0.113.201", country: "DE", ua: "curl", from: start, to: end, every: 200 * time.Millisecond,
				streams: 2, content: "film1", vod: true, mediaMS: 2000}},
			"one viewer fetched"}, // ahead of real time, or as fast as: whichever crossed first
		{"restreamer pulling the 3 renditions at real time",
			[]player{{session: "x", ip: "203.0.113.200", country: "NL", ua: "Lavf/60.16.100", from: start, to: end, every: two, streams: 3}},
			"one viewer fetched 3 renditions in parallel"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: t0}
			d := newTestDetector(t, clk, Deps{}, nil)
			first, decs := replay(t, d, clk, end, append(background(12, 0, end), tc.players...)...)
			for _, dec := range decs {
				if dec.SessionID != "x" {
					t.Fatalf("an ordinary viewer was flagged: %+v", dec)
				}
			}
			at, ok := first["x"]
			if !ok {
				t.Fatalf("never flagged")
			}
			if at-start > 10*time.Second {
				t.Errorf("flagged %v after its first request, want within 10 s", at-start)
			}
			if !strings.Contains(decs[0].Explanation[0], tc.words) {
				t.Errorf("explanation %q, want %q in its first sentence", decs[0].Explanation, tc.words)
			}
			t.Logf("flagged after %v: %q", at-start, decs[0].Explanation)
		})
	}
}

// TestDownloaderAt4x: a downloader pacing its requests at 4 times real
// time (its link idle most of the time) is caught within 10 s, once it is
// 22 s ahead; a player filling a 60 s buffer over a link 4 times the bit
// rate (its link busy, back to back), or at once over a fast link, is
// not; a downloader limited by its link instead of pacing is caught only
// once 66 s ahead, as documented (docs/detector.md).
func TestDownloaderAt4x(t *testing.T) {
	const start, end = 120 * time.Second, 300 * time.Second
	for _, tc := range []struct {
		name  string
		p     player
		extra []player // the same session, after
		flag  bool
		by    time.Duration
	}{
		{"paced downloader", player{ip: "203.0.113.201", ua: "curl", every: 500 * time.Millisecond, took: 20 * time.Millisecond}, nil, true, 10 * time.Second},
		{"link-limited downloader", player{ip: "203.0.113.201", ua: "curl", every: 500 * time.Millisecond, took: 480 * time.Millisecond}, nil, true, 30 * time.Second},
		{"player filling 60 s over a link 4x the bit rate", player{ip: "198.51.100.5", ua: "ExoPlayer", every: 500 * time.Millisecond,
			took: 480 * time.Millisecond, to: start + 10*time.Second},
			[]player{{ip: "198.51.100.5", ua: "ExoPlayer", from: start + 10*time.Second, every: 2 * time.Second, took: 100 * time.Millisecond}}, false, 0},
		{"player filling 60 s at once", player{ip: "198.51.100.6", ua: "hls.js", every: 2 * time.Second, buffer: 30, took: 10 * time.Millisecond}, nil, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: t0}
			d := newTestDetector(t, clk, Deps{}, nil)
			ps := background(12, 0, end)
			for _, p := range append([]player{tc.p}, tc.extra...) {
				p.session, p.country, p.streams, p.content, p.vod, p.mediaMS = "x", "DE", 2, "film1", true, 2000
				if p.from == 0 {
					p.from = start
				}
				if p.to == 0 {
					p.to = end
				}
				ps = append(ps, p)
			}
			first, decs := replay(t, d, clk, end, ps...)
			at, ok := first["x"]
			switch {
			case ok != tc.flag:
				t.Fatalf("flagged %v (after %v), want %v: %v", ok, at-start, tc.flag, decs)
			case ok && at-start > tc.by:
				t.Errorf("flagged after %v, want within %v", at-start, tc.by)
			case ok:
				t.Logf("flagged after %v: %q", at-start, decs[0].Explanation)
			}
		})
	}
}

// hardLegit returns sessions that must never be flagged, over [0, end):
// households, mobile viewers, pauses, seeks, ABR, a prefetching TV.
func hardLegit(end time.Duration) []player {
	two, four := 2*time.Second, 4*time.Second
	var ps []player
	// Three devices of one home behind one NAT address, one token, each
	// at real time: the speed was exactly 3.00 of the reference.
	for i, ua := range []string{"SmartTV", "iPad", "Android"} {
		ps = append(ps, player{session: "home3", ip: "100.64.9.10", country: "DE", ua: ua, to: end, every: two,
			phase: time.Duration(i) * 700 * time.Millisecond, streams: 2, buffer: 3, content: fmt.Sprintf("film%d", i), vod: true, mediaMS: 2000})
	}
	// Three devices of one home on three addresses of one /24.
	for i, ua := range []string{"SmartTV", "iPad", "Android"} {
		ps = append(ps, player{session: "home3b", ip: fmt.Sprintf("100.64.10.%d", 10+i), country: "DE", ua: ua, to: end, every: two,
			phase: time.Duration(i) * 500 * time.Millisecond, streams: 2, buffer: 3, content: "ch1"})
	}
	// A VOD viewer pausing for 5 minutes, twice, then resuming.
	for k, span := range [][2]time.Duration{{0, end / 4}, {end/4 + 5*time.Minute, end / 2}, {end/2 + 5*time.Minute, end}} {
		if span[0] >= span[1] {
			continue
		}
		ps = append(ps, player{session: "pause", ip: "198.51.100.77", country: "FR", ua: "Safari", from: span[0], to: span[1], every: two,
			streams: 2, buffer: 3, content: fmt.Sprintf("film9p%d", k), vod: true, mediaMS: 2000})
	}
	// A dual-stack phone moving home Wi-Fi -> mobile data -> office Wi-Fi
	// -> mobile data -> home, IPv4 and IPv6 at each: 4 places within a
	// minute at each move.
	nets := [][2]string{{"192.0.2.50", "2001:db8:a::50"}, {"100.72.1.5", "2001:db8:b::5"}, {"198.18.3.3", "2001:db8:c::3"},
		{"100.72.9.5", "2001:db8:b::7"}, {"192.0.2.50", "2001:db8:a::50"}}
	step := end / time.Duration(len(nets))
	for i, n := range nets {
		from := time.Duration(i) * step
		ps = append(ps,
			player{session: "mover", ip: n[0], country: "GB", ua: "AVPlayer", from: from, to: from + step, every: four, streams: 2},
			player{session: "mover", ip: n[1], country: "GB", ua: "AVPlayer", from: from, to: from + step, every: four, phase: two, streams: 2})
	}
	// A mobile viewer behind carrier-grade NAT whose address changes
	// within the carrier's pool (two /24s) every few minutes.
	for i := range 12 {
		from := time.Duration(i) * end / 12
		ps = append(ps, player{session: "cgnat", ip: fmt.Sprintf("100.65.%d.%d", i%2, 20+i), country: "US", ua: "ExoPlayer",
			from: from, to: from + end/12, every: two, streams: 2, content: "ch2"})
	}
	// A seek-heavy VOD viewer: a start buffer at every seek, once a minute.
	for i := time.Duration(0); i*time.Minute < end; i++ {
		ps = append(ps, player{session: "seeker", ip: "198.51.100.88", country: "JP", ua: "Chrome", from: i * time.Minute,
			to: min((i+1)*time.Minute, end), every: two, streams: 2, buffer: 8, content: "film7", vod: true, mediaMS: 2000})
	}
	// An ABR player switching video rendition every 30 s (r0 <-> r1 in
	// turn, audio as r2 throughout).
	for i := time.Duration(0); i*30*time.Second < end; i++ {
		ps = append(ps, player{session: "abr", ip: "198.51.100.99", country: "BR", ua: "hls.js", from: i * 30 * time.Second,
			to: min((i+1)*30*time.Second, end), every: two, streams: 1, content: fmt.Sprintf("ch3/v%d", i%2)})
	}
	ps = append(ps, player{session: "abr", ip: "198.51.100.99", country: "BR", ua: "hls.js", to: end, every: two, streams: 1, content: "ch3/audio"})
	// A smart TV that prefetches a minute (15 segments of 4 s) at start
	// and after each minute-long stall, then plays at real time.
	for i := time.Duration(0); i*10*time.Minute < end; i++ {
		ps = append(ps, player{session: "tv", ip: "198.51.100.111", country: "DE", ua: "Tizen", from: i * 10 * time.Minute,
			to: min((i+1)*10*time.Minute-time.Minute, end), every: four, streams: 2, buffer: 15, content: fmt.Sprintf("film5t%d", i), vod: true, mediaMS: 4000})
	}
	// Zapping: a live viewer changing channel every 20 s, each with a
	// start buffer (channels share the live timeline: the same numbers).
	for i := time.Duration(0); i*20*time.Second < end; i++ {
		ps = append(ps, player{session: "zap", ip: "198.51.100.123", country: "FR", ua: "Chrome", from: i * 20 * time.Second,
			to: min((i+1)*20*time.Second, end), every: two, streams: 2, buffer: 3, content: fmt.Sprintf("zap%d", i%6), mediaMS: 2000})
	}
	return ps
}

// TestNoDrift: an hour of the hard legitimate kinds beside forty ordinary
// viewers who come and go (their start buffers leaving the window, the
// reference moving) revokes no one, at any evaluation.
func TestNoDrift(t *testing.T) {
	end := 60 * time.Minute
	if testing.Short() {
		end = 20 * time.Minute
	}
	ps := hardLegit(end)
	for i := range 40 {
		from := time.Duration(i%8) * end / 8
		ps = append(ps, player{
			session: fmt.Sprintf("bg%02d", i), ip: fmt.Sprintf("198.51.%d.7", i), country: "FR", ua: "Player/1",
			from: from, to: min(from+end/3, end), every: 2 * time.Second, phase: time.Duration(i) * 130 * time.Millisecond,
			streams: 2, buffer: 3, content: fmt.Sprintf("ch%d", i%5),
		})
	}
	clk := &clock{t: t0}
	d := newTestDetector(t, clk, Deps{}, nil)
	_, decs := replay(t, d, clk, end, ps...)
	seen := map[string]bool{}
	for _, dec := range decs {
		if !seen[dec.SessionID] {
			seen[dec.SessionID] = true
			t.Errorf("%s flagged at %v: %q", dec.SessionID, dec.Time.Sub(t0), dec.Explanation)
		}
	}
}

// TestMargin pins the margin: a score at the threshold, or within the
// margin above it, does not revoke; one at threshold * (1 + margin) does.
func TestMargin(t *testing.T) {
	cfg := DefaultConfig().Concurrency
	cfg.RealtimeRate = 1
	c := &concurrencyScorer{cfg: &cfg}
	for _, tc := range []struct {
		rate float64
		want bool
	}{
		{3, false},         // three devices at home at exactly 3.00 before: score 1
		{3.2999999, false}, // 1.0999...
		{3.3000001, true},  // 1.1000...
		{3.6, true},
		{2.7, false},
	} {
		sc, got := c.score(&features{rate: tc.rate}, &population{})
		if got != tc.want {
			t.Errorf("rate %v: score %v flagged %v, want %v", tc.rate, sc, got, tc.want)
		}
	}
	// The count terms land clear of it: 3 places 1.2, 2 places 0.6.
	for _, tc := range []struct {
		f    features
		want bool
	}{
		{features{locations: 3, locCountries: 1}, true},
		{features{locations: 2, locCountries: 1}, false},
		{features{locations: 2, locCountries: 2}, true},
		{features{spread: 7, spreadCountries: 1}, true},
		{features{spread: 6, spreadCountries: 1}, false},
		{features{spread: 3, spreadCountries: 3}, true},
		{features{spread: 2, spreadCountries: 2}, false},
		{features{renditions: 3}, true},
		{features{renditions: 2}, false},
	} {
		if sc, got := c.score(&tc.f, &population{}); got != tc.want {
			t.Errorf("%+v: score %v flagged %v, want %v", tc.f, sc, got, tc.want)
		}
	}
}

// TestEndedIsNotRevoked: a session over the threshold that stopped
// ended_after ago is reported ended, and Tick does not revoke it.
func TestEndedIsNotRevoked(t *testing.T) {
	b := base()
	clk := &clock{t: b}
	st := openStores(t, clk)
	d := newTestDetector(t, clk, Deps{Revoker: st.rev}, nil)
	end := 60 * time.Second
	feed(d, clk, mergeAt(b, wide("x", 10, []string{"DE", "FR"}, 0, end)...))
	later := b.Add(end + 45*time.Second)
	clk.Set(later)
	out := d.Tick(t.Context(), later)
	dec, ok := of(out, ScorerConcurrency, "x")
	if !ok || !dec.Ended || dec.Outcome != OutcomeEnded {
		t.Fatalf("decision %+v (%v), want ended", dec, ok)
	}
	if _, ok, _ := st.rev.Get(t.Context(), "x"); ok {
		t.Error("an ended session was revoked")
	}
}

// TestASNs: six places at once over the window are within what viewers
// do when they belong to one or two network operators (a carrier's pool,
// home and mobile data), and are not when they belong to six.
func TestASNs(t *testing.T) {
	for _, tc := range []struct {
		name string
		asn  func(i int) uint32
		want bool
	}{
		{"one operator", func(int) uint32 { return 64500 }, false},
		{"two operators", func(i int) uint32 { return 64500 + uint32(i%2) }, false},
		{"unknown", func(int) uint32 { return 0 }, false},
		{"six operators", func(i int) uint32 { return 64500 + uint32(i) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: t0}
			d := newTestDetector(t, clk, Deps{}, nil)
			ps := wide("x", 6, []string{"DE"}, 0, 2*time.Minute)
			for i := range ps {
				ps[i].asn = tc.asn(i)
			}
			feed(d, clk, merge(ps...))
			dec, got := of(d.Evaluate(t0.Add(2*time.Minute)), ScorerConcurrency, "x")
			if got != tc.want {
				t.Fatalf("flagged %v, want %v: %v", got, tc.want, explainFor(t, d, "x", ScorerConcurrency))
			}
			if got && (!strings.Contains(dec.Explanation[0], "of 6 network operators") || len(dec.Evidence.ASNs) != 6) {
				t.Errorf("explanation %q, evidence %+v", dec.Explanation, dec.Evidence)
			}
		})
	}
}

// TestNumber: a score is never rounded onto the other side of the
// threshold it is compared with.
func TestNumber(t *testing.T) {
	for _, tc := range []struct {
		v, ref float64
		want   string
	}{
		{1.0003, 1, "1.0003"},
		{1.0003, 1.1, "1"},
		{1.0999999, 1.1, "1.0999999"},
		{1.1000001, 1.1, "1.1000001"},
		{2.4, 1.1, "2.4"},
		{0.5, 0, "0.5"},
	} {
		if got := number(tc.v, tc.ref); got != tc.want {
			t.Errorf("number(%v, %v) = %s, want %s", tc.v, tc.ref, got, tc.want)
		}
	}
}

// TestManifestsAreNoRendition: playlists and manifests, refreshed beside
// segments, are not renditions.
func TestManifestsAreNoRendition(t *testing.T) {
	for _, p := range []string{"/live/ch1/media_0.m3u8", "/live/ch1/manifest.mpd", "/vod/t/init.mp4", "/a/"} {
		if _, _, ok := mediatime.Key(maphash.MakeSeed(), p); ok {
			t.Errorf("%s counted as a segment", p)
		}
	}
}

// memRevoker is a Revoker in memory.
type memRevoker struct {
	mu sync.Mutex
	m  map[string]revocation.Entry
}

func (r *memRevoker) Revoke(_ context.Context, e revocation.Entry, _ time.Duration) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]revocation.Entry{}
	}
	r.m[e.SessionID] = e
	return uint64(len(r.m)), nil
}

func (r *memRevoker) Get(_ context.Context, id string) (revocation.Entry, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.m[id]
	return e, ok, nil
}

// TestTickHot: a downloader is revoked by the hot tick right after the
// request that put it over the limit, not at the next whole evaluation;
// a wide token at its third place and beyond too; the next Tick does not
// report them again; players stay cold.
func TestTickHot(t *testing.T) {
	const start = 60 * time.Second
	rev := &memRevoker{}
	clk := &clock{t: t0}
	d := newTestDetector(t, clk, Deps{Revoker: rev}, func(c *Config) { c.Interval = Duration(10 * time.Second) })
	evs := merge(append(background(12, 0, 2*start),
		player{session: "dl", ip: "203.0.113.201", country: "DE", ua: "curl", from: start, to: 2 * start, every: 200 * time.Millisecond,
			streams: 2, content: "film1", vod: true, mediaMS: 2000},
		player{session: "pl", ip: "203.0.113.202", country: "DE", ua: "Safari", from: start, to: 2 * start, every: 2 * time.Second,
			streams: 2, buffer: 15, content: "film2", vod: true, mediaMS: 2000})...)
	evs = append(evs, merge(wide("wd", 20, []string{"FR"}, start, 2*start)...)...)
	slices.SortStableFunc(evs, func(a, b accesslog.Event) int { return a.Time.Compare(b.Time) })
	revokedAt := map[string]time.Duration{}
	i := 0
	for at := time.Duration(0); at <= 2*start; at += 250 * time.Millisecond {
		for ; i < len(evs) && !evs[i].Time.After(t0.Add(at)); i++ {
			clk.Set(evs[i].Time)
			d.Observe(&evs[i])
		}
		clk.Set(t0.Add(at))
		var decs []Decision
		if at%(10*time.Second) == 0 {
			decs = d.Tick(t.Context(), t0.Add(at))
		} else {
			decs = d.TickHot(t.Context(), t0.Add(at))
		}
		for _, dec := range decs {
			if dec.Active && dec.Outcome == OutcomeRevoked {
				if _, ok := revokedAt[dec.SessionID]; ok {
					t.Errorf("%s reported revoked twice", dec.SessionID)
				}
				revokedAt[dec.SessionID] = at - start
			}
		}
	}
	if got, ok := revokedAt["dl"]; !ok || got > 8*time.Second {
		t.Errorf("downloader revoked after %v (%v), want within 8 s", got, ok)
	}
	if got, ok := revokedAt["wd"]; !ok || got > time.Second {
		t.Errorf("wide token revoked after %v (%v), want within 1 s", got, ok)
	}
	if _, ok := revokedAt["pl"]; ok || len(revokedAt) != 2 {
		t.Errorf("revoked %v, want dl and wd only", revokedAt)
	}
}
