package detect

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
)

// Realistic values for the benchmarks.
var (
	benchUAs = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		"AppleCoreMedia/1.0.0.22B83 (Apple TV; U; CPU OS 18_1 like Mac OS X; en_us)",
		"ExoPlayerLib/2.19.1 (Linux; Android 13) ExoPlayerLib/2.19.1",
	}
	benchRefs      = []string{"https://www.example.com/watch", "https://app.example.com/", ""}
	benchCountries = []string{"DE", "FR", "US", "GB", "BR", "JP", "IN", "ES", "IT", "NL"}
)

// benchEvents returns n events of `sessions` sessions (ids prefixed),
// most with one address, one in ten with two, stamped over the last five
// minutes, each a segment of the session's video or audio rendition of
// one of 20 channels, with its media duration.
func benchEvents(prefix string, sessions, n int) []accesslog.Event {
	r := rand.New(rand.NewPCG(uint64(len(prefix)), uint64(sessions)))
	now := time.Now()
	type sess struct{ id, ip, ip2, ua, ref, cty string }
	ss := make([]sess, sessions)
	for i := range ss {
		s := sess{
			id: fmt.Sprintf("%s%012d", prefix, i), ip: fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254)),
			ua: benchUAs[r.IntN(len(benchUAs))], ref: benchRefs[r.IntN(len(benchRefs))], cty: benchCountries[r.IntN(len(benchCountries))],
		}
		if r.IntN(10) == 0 {
			s.ip2 = fmt.Sprintf("2001:db8:%x:%x::%x", r.IntN(65536), r.IntN(65536), 1+r.IntN(65535))
		}
		ss[i] = s
	}
	evs := make([]accesslog.Event, n)
	seq := make([]int, len(ss))
	for i := range evs {
		si := r.IntN(len(ss))
		s := ss[si]
		seq[si]++
		ip := s.ip
		if s.ip2 != "" && r.IntN(2) == 0 {
			ip = s.ip2
		}
		evs[i] = accesslog.Event{
			Time: now.Add(-time.Duration(r.Int64N(int64(5 * time.Minute)))), EdgeID: "edge-1", SessionID: s.id,
			Verdict: accesslog.VerdictAllow, Status: 200, ViewerIP: ip, Country: s.cty, UserAgent: s.ua, Referer: s.ref,
			Method: "GET", BytesSent: 1_200_000, CacheStatus: "HIT", MediaMS: 2000,
			OriginPath: fmt.Sprintf("/live/channel%02d/%s/segment_%06d.m4s", si%20, [2]string{"video_1080", "audio_en"}[seq[si]%2], 100000+seq[si]/2),
		}
	}
	return evs
}

// BenchmarkObserve: one goroutine observing 50,000 sessions.
func BenchmarkObserve(b *testing.B) {
	d, err := New(DefaultConfig(), Deps{})
	if err != nil {
		b.Fatal(err)
	}
	evs := benchEvents("s", 50_000, 1<<16)
	for i := range evs { // fill the sessions first
		d.Observe(&evs[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		d.Observe(&evs[i&(len(evs)-1)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkObserveParallel: a goroutine per core, each on its own
// sessions (a consumer per partition), into one detector.
func BenchmarkObserveParallel(b *testing.B) {
	d, err := New(DefaultConfig(), Deps{})
	if err != nil {
		b.Fatal(err)
	}
	var worker atomic.Int64
	sets := make([][]accesslog.Event, 64)
	for w := range sets {
		sets[w] = benchEvents(fmt.Sprintf("w%02d_", w), 50_000/8, 1<<14)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		evs := sets[worker.Add(1)-1]
		for i := 0; pb.Next(); i++ {
			d.Observe(&evs[i&(len(evs)-1)])
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEvaluate: one evaluation of 50,000 sessions, as Tick makes it
// (the explanations and evidence of the decisions it reports aside).
func BenchmarkEvaluate(b *testing.B) {
	d, err := New(DefaultConfig(), Deps{})
	if err != nil {
		b.Fatal(err)
	}
	evs := benchEvents("s", 50_000, 1<<19)
	for i := range evs {
		d.Observe(&evs[i])
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d.evaluate(now)
	}
	b.ReportMetric(float64(d.Tracked()), "sessions")
}

// BenchmarkMemoryPerSession measures the detector's state per active
// session: 100,000 or 1,000,000 sessions of 8 events each (4 segments of
// a video and an audio rendition of one of 20 channels, with their media
// durations; one session in ten on two addresses), the heap after a GC
// before and after. Run it once per size:
//
//	go test -run '^$' -bench MemoryPerSession -benchtime 1x ./internal/detect/
func BenchmarkMemoryPerSession(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				cfg := DefaultConfig()
				cfg.MaxSessions = n * 5 / 4 // per shard: room for an uneven spread
				d, err := New(cfg, Deps{})
				if err != nil {
					b.Fatal(err)
				}
				evs := benchEvents("m", 1024, 1024) // templates: addresses, agents, countries
				var paths [20][8]string
				for ch := range paths {
					for k := range paths[ch] {
						paths[ch][k] = fmt.Sprintf("/live/channel%02d/%s/segment_%06d.m4s", ch, [2]string{"video_1080", "audio_en"}[k%2], 1000+k/2)
					}
				}
				now := time.Now()
				var ev accesslog.Event
				id := make([]byte, 0, 16)
				for s := range n {
					t := &evs[s%len(evs)]
					id = fmt.Appendf(id[:0], "m%012d", s)
					sid := string(id)
					for k := range 8 {
						ev = *t
						ev.SessionID = sid
						ev.Time = now.Add(time.Duration(k-8) * 2 * time.Second)
						ev.OriginPath, ev.MediaMS = paths[s%20][k], 2000
						if k%2 == 1 && s%10 == 0 {
							ev.ViewerIP = fmt.Sprintf("2001:db8:%x::1", s%65536)
						}
						d.Observe(&ev)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				if d.Tracked() != n {
					b.Fatalf("tracked %d sessions, want %d", d.Tracked(), n)
				}
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "B/session")
				// An evaluation of them all, as Tick makes it: the second,
				// once the features' slices have grown.
				d.evaluate(now)
				start := time.Now()
				d.evaluate(now)
				b.ReportMetric(time.Since(start).Seconds(), "s/evaluation")
				runtime.KeepAlive(d)
			}
		})
	}
}
