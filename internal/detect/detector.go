package detect

import (
	"cmp"
	"hash/maphash"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/revocation"
)

// Deps are what the detector works with; all optional.
type Deps struct {
	// Revoker receives the active scorer's revocations; nil: none are
	// written (decisions are still reported).
	Revoker Revoker
	// Allowlist is consulted before each revocation; nil: none.
	Allowlist Allowlist
	// OnDecision, when set, is called by Tick (and so Run) with every new
	// decision of every scorer, from Tick's goroutine: keep it quick.
	OnDecision func(Decision)
	// Decisions keeps every decision Tick reports; nil: none kept.
	Decisions DecisionStore
	// Metrics registers the detector's metrics; nil: not registered.
	Metrics prometheus.Registerer
	// Log receives decisions and errors; nil: discarded.
	Log *slog.Logger
	// Now is the clock of Observe (late events, events stamped in the
	// future) and Run; time.Now when nil.
	Now func() time.Time
}

// Decision is a scorer's finding that a session is over its threshold.
type Decision struct {
	// Time is the evaluation's time.
	Time time.Time `json:"time"`
	// Scorer names the scorer.
	Scorer string `json:"scorer"`
	// SessionID is the session.
	SessionID string `json:"session_id"`
	// Score and Threshold are the scorer's.
	Score     float64 `json:"score"`
	Threshold float64 `json:"threshold"`
	// Active is true for the active scorer, whose decisions revoke.
	Active bool `json:"active"`
	// Features is the score's breakdown: the session's features and the
	// score's terms, stored with the revocation.
	Features map[string]float64 `json:"features"`
	// Explanation says in words which features crossed which thresholds,
	// with the numbers; stored with the revocation.
	Explanation []string `json:"explanation"`
	// Evidence is what the features counted: addresses, networks,
	// countries, user agents, renditions.
	Evidence *revocation.Evidence `json:"evidence,omitempty"`
	// Ended is true when the session had no request for ended_after:
	// such a decision is never enforced.
	Ended bool `json:"ended,omitempty"`
	// Outcome is what Tick did (Outcome*); empty from Evaluate.
	Outcome string `json:"outcome,omitempty"`

	// f and sc are the session's features and the scorer, until fill.
	f  *features
	sc scorer
}

// Detector keeps per-session features of the access events over a sliding
// window and scores them. Observe is safe from many goroutines; Evaluate,
// Tick and Run run one at a time.
type Detector struct {
	cfg      Config
	deps     Deps
	now      func() time.Time
	log      *slog.Logger
	seed     maphash.Seed
	shards   []shard
	perShard int
	// bucketW and slotW are the widths of a window bucket and of a
	// concurrency slot, ns; lookback is the window, ns; minSpan is
	// concurrency.min_span in seconds.
	// epochW is half the lookback (a viewer's rate counts the requests of
	// one or two); spreadHold is concurrency.spread_hold, ns.
	bucketW, slotW, lookback int64
	epochW, spreadHold       int64
	// rendRecent is how recent a rendition's last segment must be for it
	// to count as fetched in parallel, ns.
	rendRecent int64
	// hotLevel is the media bucket, ms, that makes a session hot: the
	// download score's decision; hotPaced that of a paced rendition.
	hotLevel, hotPaced float32
	minSpan            float64
	// scorers: the active one first, then the shadow ones.
	scorers []scorer
	metrics *metrics
	// intern shares the strings sessions keep.
	intern interner

	evalMu sync.Mutex
	// parts are the sessions' features of the last evaluation, one slice
	// per worker.
	parts [][]features
	// rates is the population's scratch.
	rates []float64
	// lastPop is the population of the last evaluation, for Inspect.
	lastPop population
	// top are the sessions with the highest active scores at the last
	// evaluation, highest first, for Top.
	top     []string
	tracked atomic.Int64

	// Tick's memory, under tickMu.
	tickMu sync.Mutex
	// flagged holds, per scorer, the sessions over its threshold at the
	// previous Tick: a decision is reported when it is new.
	flagged []map[string]bool
	// acted holds when the active scorer's decision on a session was last
	// settled (revoked, or found revoked): it is not looked at again for a
	// lookback.
	acted map[string]int64
	// allowed holds until when an allowlisted session is not asked about
	// again.
	allowed map[string]int64
}

// shard is a part of the sessions, by hash of the session id.
type shard struct {
	mu sync.Mutex
	m  map[string]*session
	// hot are the sessions a request may have put over the threshold
	// since the last hot tick.
	hot []*session
	// Counters of Observe and Evaluate.
	counted, noSession, unproven, status, small, late, invalid, evicted, expired atomic.Uint64
	_                                                                            [64]byte // keep shards on their own cache lines
}

// nShards spreads the sessions so that Observe from many goroutines
// rarely waits.
const nShards = 64

// rendRecent is how recent a rendition's last segment must be to count as
// fetched in parallel: longer than any segment.
const rendRecent = 30 * time.Second

// rendCoexist is how long two renditions must have been fetched side by
// side to count as fetched in parallel: longer than the overlap of a
// rendition switch or a channel change.
const rendCoexist = 2 * time.Second

// allowCache is how long an allowlisted session is not asked about again.
const allowCache = 30 * time.Second

// New returns a detector; cfg must pass Validate.
func New(cfg Config, deps Deps) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Detector{
		cfg:        cfg,
		deps:       deps,
		now:        deps.Now,
		log:        deps.Log,
		seed:       maphash.MakeSeed(),
		shards:     make([]shard, nShards),
		perShard:   max(1, (cfg.MaxSessions+nShards-1)/nShards),
		bucketW:    int64(cfg.Lookback.D() / nBuckets),
		slotW:      int64(cfg.Concurrency.Slot.D()),
		lookback:   int64(cfg.Lookback.D()),
		epochW:     max(int64(cfg.Lookback.D()/2), 1),
		spreadHold: int64(cfg.Concurrency.SpreadHold.D()),
		rendRecent: int64(rendRecent),
		hotLevel:   float32(cfg.Concurrency.BufferAllowance.D().Milliseconds()) * float32(cfg.Concurrency.Threshold*(1+cfg.Concurrency.Margin)),
		hotPaced:   float32(cfg.Concurrency.PacedAllowance.D().Milliseconds()) * float32(cfg.Concurrency.Threshold*(1+cfg.Concurrency.Margin)),
		minSpan:    cfg.Concurrency.MinSpan.D().Seconds(),
		acted:      map[string]int64{},
		allowed:    map[string]int64{},
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	for i := range d.shards {
		d.shards[i].m = map[string]*session{}
	}
	for _, name := range append([]string{cfg.Scorer}, cfg.Shadow...) {
		d.scorers = append(d.scorers, newScorer(name, &d.cfg))
	}
	d.flagged = make([]map[string]bool, len(d.scorers))
	var err error
	if d.metrics, err = newMetrics(d, deps.Metrics); err != nil {
		return nil, err
	}
	return d, nil
}

// Observe adds one access event. It counts only what SMDE's query counts:
// responses 200 and 206 of more than min_bytes, with a session id. An
// event stamped after the clock counts as now; one older than the
// lookback is dropped. It takes a few hundred nanoseconds and never
// blocks on I/O.
func (d *Detector) Observe(ev *accesslog.Event) {
	id := ev.SessionID
	if id == "" {
		d.shards[maphash.String(d.seed, ev.ViewerIP)%nShards].noSession.Add(1)
		return
	}
	if ev.SessionUnproven {
		// The id is what the request wrote, not what its token proves:
		// counting it would let anyone with a token of their own get
		// another viewer's session revoked.
		d.shards[maphash.String(d.seed, ev.ViewerIP)%nShards].unproven.Add(1)
		return
	}
	sh := &d.shards[d.shardOf(id)]
	switch {
	case ev.Status != 200 && ev.Status != 206:
		sh.status.Add(1)
		return
	case ev.BytesSent <= d.cfg.MinBytes:
		sh.small.Add(1)
		return
	case !revocation.ValidSessionID(id):
		sh.invalid.Add(1)
		return
	}
	now := d.now().UnixNano()
	t := now
	if !ev.Time.IsZero() {
		t = min(ev.Time.UnixNano(), now)
	}
	if t <= now-d.lookback {
		sh.late.Add(1)
		return
	}
	sh.mu.Lock()
	s := sh.m[id]
	if s == nil {
		if len(sh.m) >= d.perShard {
			d.evict(sh)
		}
		s = newSession(strings.Clone(id), t/d.bucketW)
		sh.m[s.id] = s
		d.tracked.Add(1)
	}
	if s.observe(d, ev, t) && !s.hot {
		s.hot = true
		sh.hot = append(sh.hot, s)
	}
	sh.mu.Unlock()
	sh.counted.Add(1)
}

// shardOf returns the index of the shard of session id.
func (d *Detector) shardOf(id string) int { return int(maphash.String(d.seed, id) % nShards) }

// evict forgets the least recently active of a few sessions of the full
// shard sh (Go's map iteration starts at random): an approximate LRU that
// costs no list.
func (d *Detector) evict(sh *shard) {
	var victim *session
	i := 0
	for _, s := range sh.m {
		if victim == nil || s.last < victim.last {
			victim = s
		}
		if i++; i == 8 {
			break
		}
	}
	delete(sh.m, victim.id)
	d.tracked.Add(-1)
	sh.evicted.Add(1)
}

// Tracked returns the number of sessions held.
func (d *Detector) Tracked() int { return int(d.tracked.Load()) }

// Evaluate computes every session's features at now, forgets the sessions
// without a request in the window, and returns the decisions of every
// scorer over its threshold, ordered by session id then scorer (the
// active one first). It writes nothing.
func (d *Detector) Evaluate(now time.Time) []Decision {
	decs := d.evaluate(now)
	for i := range decs {
		d.fill(&decs[i])
	}
	return decs
}

// evaluate is Evaluate without the decisions' breakdowns, explanations
// and evidence (fill adds them to those reported): each decision points
// at its session's features in d.parts, valid until the next
// evaluation. Sessions' features are computed by a goroutine per core,
// each on its share of the shards.
func (d *Detector) evaluate(now time.Time) []Decision {
	d.evalMu.Lock()
	defer d.evalMu.Unlock()
	start := time.Now()
	ns := now.UnixNano()
	workers := min(runtime.GOMAXPROCS(0), nShards)
	if len(d.parts) != workers {
		d.parts = make([][]features, workers)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			fs := d.parts[w][:0]
			for i := w; i < len(d.shards); i += workers {
				sh := &d.shards[i]
				sh.mu.Lock()
				for id, s := range sh.m {
					f, ok := s.features(d, ns)
					f.shard = i
					if !ok {
						delete(sh.m, id)
						d.tracked.Add(-1)
						sh.expired.Add(1)
						continue
					}
					fs = append(fs, f)
				}
				sh.mu.Unlock()
			}
			d.parts[w] = fs
		})
	}
	wg.Wait()
	pop := d.population(d.parts)
	d.lastPop = pop
	var out []Decision
	n := 0
	var top topList
	for si, sc := range d.scorers {
		for _, fs := range d.parts {
			n += len(fs)
			for i := range fs {
				score, over := sc.score(&fs[i], &pop)
				if si == 0 {
					top.add(fs[i].id, score)
				}
				if !over {
					continue
				}
				out = append(out, Decision{
					Time: now, Scorer: sc.name(), SessionID: fs[i].id, Score: score, Threshold: sc.threshold(),
					Active: si == 0, Ended: fs[i].idle >= d.cfg.EndedAfter.D().Seconds(), f: &fs[i], sc: sc,
				})
			}
		}
	}
	d.top = top.ids()
	order := func(name string) int { return slices.Index(d.cfg.Shadow, name) + 1 } // active: 0
	slices.SortFunc(out, func(a, b Decision) int {
		return cmp.Or(strings.Compare(a.SessionID, b.SessionID), cmp.Compare(order(a.Scorer), order(b.Scorer)))
	})
	d.metrics.evaluated(n/max(len(d.scorers), 1), time.Since(start))
	return out
}

// fill adds a decision's breakdown, explanation and evidence, from the
// features of the evaluation that made it.
func (d *Detector) fill(dec *Decision) {
	if dec.f == nil {
		return
	}
	d.evalMu.Lock()
	pop := d.lastPop
	d.evalMu.Unlock()
	dec.Features = dec.sc.explain(dec.f, &pop)
	dec.Explanation = dec.sc.words(dec.f, &pop)
	dec.Evidence = d.evidence(dec.f)
	dec.f, dec.sc = nil, nil
}
