package detect

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/accesslog"
)

// t0 is the start of every synthetic timeline, on a whole second.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// player is one player's requests for a session: every `every` from
// `from` to `to` (after t0, shifted by phase), it fetches `streams` URIs
// (video and audio: 2). Players of one live content fetch the same URIs at
// the same times; a VOD player numbers its segments from its start.
type player struct {
	session, ip, country, ua, referer string
	from, to, every, phase            time.Duration
	streams                           int
	content                           string
	vod                               bool
	// window, when set, makes a restreamer re-reading a live window: each
	// fetch reads one of the last `window` segments of `segment` seconds.
	window  int
	segment time.Duration
	// buffer is how many segments (per stream) the player fetches at once
	// at its start, behind the first: its start buffer.
	buffer int
	// unproven marks the player's session id as written in front of a
	// token that does not prove it (an exc path, someone else's id).
	unproven bool
	// mediaMS is the media duration the edge gives each segment (0: the
	// edge learned none).
	mediaMS uint32
	// asn is the viewer's network operator (0: unknown).
	asn uint32
	// took is each request's duration, to its last byte.
	took time.Duration
}

func (p player) events() []accesslog.Event { return p.eventsAt(t0) }

// eventsAt returns the player's events on a timeline starting at base.
func (p player) eventsAt(base time.Time) []accesslog.Event {
	var out []accesslog.Event
	streams := max(p.streams, 1)
	content := p.content
	if content == "" {
		content = "live1"
	}
	for b := p.buffer; b > 0; b-- {
		seg := int64((p.from+p.phase)/p.every) - int64(b)
		for s := range streams {
			out = append(out, accesslog.Event{
				Time: base.Add(p.from + p.phase), SessionID: p.session, SessionUnproven: p.unproven, Verdict: accesslog.VerdictAllow, Status: 200,
				ViewerIP: p.ip, Country: p.country, UserAgent: p.ua, Referer: p.referer, Method: "GET",
				OriginPath: fmt.Sprintf("/%s/r%d/seg%06d.ts", content, s, seg+100_000), BytesSent: 400_000, MediaMS: p.mediaMS, ASN: p.asn, Duration: p.took,
			})
		}
	}
	n := 0
	for at := p.from + p.phase; at < p.to; at += p.every {
		seg := int64(at / p.every)
		switch {
		case p.window > 0:
			seg = int64(at/p.segment) - int64(n%p.window)
		case p.vod:
			seg = int64((at - p.from - p.phase) / p.every)
		}
		n++
		for s := range streams {
			out = append(out, accesslog.Event{
				Time: base.Add(at), SessionID: p.session, SessionUnproven: p.unproven, Verdict: accesslog.VerdictAllow, Status: 200,
				ViewerIP: p.ip, Country: p.country, UserAgent: p.ua, Referer: p.referer, Method: "GET",
				OriginPath: fmt.Sprintf("/%s/r%d/seg%06d.ts", content, s, seg+100_000), BytesSent: 400_000, MediaMS: p.mediaMS, ASN: p.asn, Duration: p.took,
			})
		}
	}
	return out
}

// background returns n ordinary viewers (sessions bg00...) of n live
// channels, 2 streams every 4s, from `from` to `to`.
func background(n int, from, to time.Duration) []player {
	var ps []player
	for i := range n {
		ps = append(ps, player{
			session: fmt.Sprintf("bg%02d", i), ip: fmt.Sprintf("198.51.%d.7", i), country: "FR", ua: "Player/1",
			from: from, to: to, every: 4 * time.Second, phase: time.Duration(i) * 300 * time.Millisecond,
			streams: 2, content: fmt.Sprintf("ch%d", i),
		})
	}
	return ps
}

// merge returns the events of all players in time order.
func merge(ps ...player) []accesslog.Event { return mergeAt(t0, ps...) }

// mergeAt is merge on a timeline starting at base.
func mergeAt(base time.Time, ps ...player) []accesslog.Event {
	var evs []accesslog.Event
	for _, p := range ps {
		evs = append(evs, p.eventsAt(base)...)
	}
	slices.SortStableFunc(evs, func(a, b accesslog.Event) int { return a.Time.Compare(b.Time) })
	return evs
}

// newTestDetector returns a detector on clk with cfg (DefaultConfig when
// nil, adjusted by adj).
func newTestDetector(t testing.TB, clk *clock, deps Deps, adj func(*Config)) *Detector {
	t.Helper()
	cfg := DefaultConfig()
	if adj != nil {
		adj(&cfg)
	}
	deps.Now = clk.Now
	d, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// feed observes evs in order, the clock following their times.
func feed(d *Detector, clk *clock, evs []accesslog.Event) {
	for i := range evs {
		if clk.Now().Before(evs[i].Time) {
			clk.Set(evs[i].Time)
		}
		d.Observe(&evs[i])
	}
}

// of returns the decision of scorer on session, if any.
func of(decs []Decision, scorer, session string) (Decision, bool) {
	for _, d := range decs {
		if d.Scorer == scorer && d.SessionID == session {
			return d, true
		}
	}
	return Decision{}, false
}

// gather returns the values of reg's metrics by "name{label=value,...}".
func gather(t testing.TB, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			k := mf.GetName()
			if len(m.GetLabel()) > 0 {
				k += "{"
				for i, l := range m.GetLabel() {
					if i > 0 {
						k += ","
					}
					k += l.GetName() + "=" + l.GetValue()
				}
				k += "}"
			}
			switch {
			case m.Counter != nil:
				out[k] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[k] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[k] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
