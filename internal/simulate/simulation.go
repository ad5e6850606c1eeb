package simulate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// switchProb is the chance, per playlist reload (every 2 s with the sample
// origin), that a legitimate player switches video rendition: about once
// every two minutes.
const switchProb = 1.0 / 60

// maxRamp bounds the spread of the sessions' start times.
const maxRamp = 5 * time.Second

// Simulation is a prepared run: its sessions hold their tokens. Make one
// with [New], read its sessions with [Simulation.Sessions], play it with
// [Simulation.Run] (once).
type Simulation struct {
	cfg      Config
	edge     *url.URL
	asset    string
	sessions []*session
	models   []model
	offsets  []time.Duration // start of each session after the run's
	log      *slog.Logger
}

// SessionInfo describes a prepared session.
type SessionInfo struct {
	// ID is the token's session id.
	ID string `json:"session_id"`
	// Kind is the session's kind.
	Kind Kind `json:"kind"`
	// Devices are the identities that play the token: one, two for a
	// home or an address change, K for a shared token.
	Devices []Identity `json:"devices"`
	// Start is when the session starts, after the run's start.
	Start time.Duration `json:"-"`
}

// New checks cfg, creates the default asset if need be, and asks the token
// API for one token per session.
func New(ctx context.Context, cfg Config) (*Simulation, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	edge, _ := url.Parse(cfg.Edge)
	if cfg.Seed == 0 {
		cfg.Seed = time.Now().UnixNano()
	}
	if cfg.HTTP == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 1024
		cfg.HTTP = &http.Client{Transport: tr}
	}
	s := &Simulation{cfg: cfg, edge: edge, asset: cfg.AssetID, log: cfg.Log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.asset == "" {
		s.asset = DefaultAssetID
		if err := ensureAsset(ctx, cfg.API, s.asset, edge, defaultAssetJSON); err != nil {
			return nil, err
		}
	}
	if cfg.Impersonators > 0 {
		if err := ensureAsset(ctx, cfg.API, DefaultExcAssetID, edge, defaultExcAssetJSON); err != nil {
			return nil, err
		}
	}
	if cfg.vodSessions() > 0 {
		if err := ensureAsset(ctx, cfg.API, DefaultVODAssetID, edge, defaultVODAssetJSON); err != nil {
			return nil, err
		}
	}
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// rng returns the random source of stream i, derived from the seed.
func (s *Simulation) rng(i, sub int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(s.cfg.Seed), uint64(i)<<16|uint64(sub)))
}

// token issues a session's token of an asset and returns its id and URL
// on the edge.
func (s *Simulation) token(ctx context.Context, asset string) (string, string, error) {
	t, err := s.cfg.API.Token(ctx, asset, nil)
	if err != nil {
		return "", "", tokenError(asset, err)
	}
	if err := checkToken(asset, &t); err != nil {
		return "", "", err
	}
	u, err := onEdge(s.edge, t.PlaybackURL)
	if err != nil {
		return "", "", fmt.Errorf("asset %s: playback URL: %w", asset, err)
	}
	return t.SessionID, u, nil
}

// prepare makes every session: its token, identities and model.
func (s *Simulation) prepare(ctx context.Context) error {
	c := &s.cfg
	ramp := min(maxRamp, c.Duration/4)
	ipChange, home := c.legitSplit()
	var newPlayer newPlayerFunc = func(dev *device, u string, rng *rand.Rand) *player {
		return &player{dev: dev, master: u, rng: rng, switchProb: switchProb}
	}
	var add addFunc = func(kind Kind, build func(i int, id, u string) (*session, model)) error {
		i := len(s.sessions)
		asset := s.asset
		switch {
		case kind == KindImpersonator:
			asset = DefaultExcAssetID
		case kind.vod():
			asset = DefaultVODAssetID
		}
		id, u, err := s.token(ctx, asset)
		if err != nil {
			return err
		}
		sess, m := build(i, id, u)
		s.sessions = append(s.sessions, sess)
		s.models = append(s.models, m)
		s.offsets = append(s.offsets, time.Duration(s.rng(i, 0).Int64N(int64(ramp)+1)))
		return nil
	}
	var dev deviceFunc = func(sess *session, id Identity) *device { return newDevice(sess, id, c.HTTP, c.BlockedStatus) }

	for i := 0; i < c.Legit; i++ {
		rng := s.rng(i, 1)
		me := Identity{IP: legitAddr(i), Country: legitCountry(i), UserAgent: playerUA(rng), ASN: homeASN(i)}
		var err error
		switch {
		case i < ipChange:
			to := Identity{IP: mobileAddr(i), Country: me.Country, UserAgent: me.UserAgent, ASN: asnCarrier}
			// The move happens between 30 % and 70 % of the run.
			after := c.Duration*3/10 + time.Duration(rng.Int64N(int64(c.Duration*4/10)+1))
			err = add(KindLegitIPChange, func(_ int, id, u string) (*session, model) {
				sess := newSession(id, KindLegitIPChange, u, []Identity{me, to})
				return sess, &ipChangeViewer{p: newPlayer(dev(sess, me), u, rng), to: to, after: after}
			})
		case i < ipChange+home:
			a, b := homeAddrs(i - ipChange)
			uaA, uaB := twoUAs(rng)
			ida := Identity{IP: a, Country: me.Country, UserAgent: uaA, ASN: me.ASN}
			idb := Identity{IP: b, Country: me.Country, UserAgent: uaB, ASN: me.ASN}
			join := time.Duration(rng.Int64N(int64(c.Duration/3) + 1))
			err = add(KindLegitHome, func(i int, id, u string) (*session, model) {
				sess := newSession(id, KindLegitHome, u, []Identity{ida, idb})
				return sess, &homeViewers{
					first:  newPlayer(dev(sess, ida), u, rng),
					second: newPlayer(dev(sess, idb), u, s.rng(i, 2)),
					join:   join,
				}
			})
		default:
			err = add(KindLegit, func(_ int, id, u string) (*session, model) {
				sess := newSession(id, KindLegit, u, []Identity{me})
				return sess, &legitViewer{p: newPlayer(dev(sess, me), u, rng)}
			})
		}
		if err != nil {
			return err
		}
	}
	if err := s.prepareHard(c, add, dev, newPlayer); err != nil {
		return err
	}
	for j := 0; j < c.Shared; j++ {
		k := c.shareIPs(j)
		err := add(KindShared, func(i int, id, u string) (*session, model) {
			ids := make([]Identity, k)
			v := &sharedToken{}
			sess := newSession(id, KindShared, u, ids)
			for r := range k {
				rng := s.rng(i, 1+r)
				ids[r] = Identity{IP: sharedAddr(j, r), Country: sharedCountry(r), UserAgent: playerUA(rng), ASN: foreignASN(r)}
				v.replicas = append(v.replicas, newPlayer(dev(sess, ids[r]), u, rng))
				v.delays = append(v.delays, time.Duration(rng.Int64N(int64(time.Second))))
			}
			return sess, v
		})
		if err != nil {
			return err
		}
	}
	limit := rate.Inf
	if c.RestreamerRate > 0 {
		limit = rate.Limit(c.RestreamerRate)
	}
	for r := 0; r < c.Restreamers; r++ {
		me := Identity{IP: restreamerAddr(r), Country: restreamerCountry, UserAgent: restreamerUA, ASN: asnDataCentre}
		err := add(KindRestreamer, func(_ int, id, u string) (*session, model) {
			sess := newSession(id, KindRestreamer, u, []Identity{me})
			return sess, &restreamer{dev: dev(sess, me), master: u, limit: rate.NewLimiter(limit, 1)}
		})
		if err != nil {
			return err
		}
	}
	if err := s.prepareHiding(c, add, dev, newPlayer); err != nil {
		return err
	}
	for m := 0; m < c.Impersonators; m++ {
		victim := s.sessions[m%c.Legit].id // legitimate sessions come first
		var swapErr error
		err := add(KindImpersonator, func(i int, id, u string) (*session, model) {
			ids := make([]Identity, ImpersonatorIPs)
			for r := range ids {
				ids[r] = Identity{IP: impersonatorAddr(m, r), Country: sharedCountry(r), UserAgent: restreamerUA, ASN: foreignASN(r)}
			}
			swapped, err := withSession(u, victim)
			swapErr = err
			sess := newSession(id, KindImpersonator, swapped, ids)
			sess.victim = victim
			v := &impersonator{}
			for _, me := range ids {
				v.pullers = append(v.pullers, &restreamer{dev: dev(sess, me), master: swapped,
					limit: rate.NewLimiter(rate.Limit(c.ImpersonatorRate), 1)})
			}
			return sess, v
		})
		if err == nil {
			err = swapErr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Sessions describes the prepared sessions, in order: legitimate ones,
// then shared tokens, then restreamers.
func (s *Simulation) Sessions() []SessionInfo {
	out := make([]SessionInfo, len(s.sessions))
	for i, sess := range s.sessions {
		out[i] = SessionInfo{ID: sess.id, Kind: sess.kind, Devices: sess.devices, Start: s.offsets[i]}
	}
	return out
}

// Run plays every session for the configured duration, in real time, then
// reads the sessions' revocations back through the API and returns the
// report. When ctx ends early, the report covers the time played and says
// it was interrupted.
func (s *Simulation) Run(ctx context.Context) (*Report, error) {
	if s.models == nil {
		return nil, errors.New("simulate: Run called twice")
	}
	models := s.models
	s.models = nil
	start := time.Now()
	s.log.Info("simulation started", "sessions", len(s.sessions), "duration", s.cfg.Duration, "edge", s.cfg.Edge, "asset", s.asset)
	runCtx, cancel := context.WithTimeout(ctx, s.cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	for i, m := range models {
		wg.Go(func() {
			if sleep(runCtx, s.offsets[i]) {
				m.run(runCtx)
			}
		})
	}
	wg.Wait()
	end := time.Now()
	s.log.Info("simulation played; reading revocations", "seconds", end.Sub(start).Seconds())
	// The run's context may be over: read revocations on a fresh one.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer rcancel()
	revs := s.revocations(rctx)
	r := s.report(start, end, revs)
	r.Interrupted = ctx.Err() != nil
	return r, nil
}
