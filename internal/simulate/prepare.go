package simulate

import (
	"math/rand/v2"
	"time"
)

// The builders prepare hands to prepareHard and prepareHiding.
type (
	addFunc       func(kind Kind, build func(i int, id, u string) (*session, model)) error
	deviceFunc    func(sess *session, id Identity) *device
	newPlayerFunc func(dev *device, u string, rng *rand.Rand) *player
)

// vod reports whether the kind plays the VOD asset.
func (k Kind) vod() bool {
	switch k {
	case KindSeek, KindPause, KindTV, KindLongVOD, KindDownloader4x, KindDownloader10x:
		return true
	}
	return false
}

// vodSessions counts the sessions of VOD kinds.
func (c *Config) vodSessions() int {
	return c.Seekers + c.Pausers + c.TVs + c.LongVOD + c.Downloaders4x + c.Downloaders10x
}

// Settings of the hard legitimate kinds.
const (
	// abrSwitchProb: an ABR player switches about every 5 reloads (10 s
	// with 2 s segments).
	abrSwitchProb = 1.0 / 5
	// seekBuffer is a seeker's buffer, in segments, at its start and after
	// each seek; tvBuffer the prefetching TV's (50 s of 2 s segments, as
	// ExoPlayer keeps).
	seekBuffer = 8
	tvBuffer   = 25
	// cgnatEvery is about how often a CGNAT viewer's address changes.
	cgnatEvery = 40 * time.Second
	// dualStackEvery is how often a dual-stack phone's requests change
	// between IPv4 and IPv6.
	dualStackEvery = 3 * time.Second
)

// prepareHard makes the sessions of the hard legitimate kinds, after the
// legitimate ones (their addresses numbered after them).
func (s *Simulation) prepareHard(c *Config, add addFunc, dev deviceFunc, newPlayer newPlayerFunc) error {
	n := c.Legit // the next legitimate address
	single := func(kind Kind, count int, adjust func(p *player)) error {
		for range count {
			i := n
			n++
			err := add(kind, func(idx int, id, u string) (*session, model) {
				rng := s.rng(idx, 1)
				me := Identity{IP: legitAddr(i), Country: legitCountry(i), UserAgent: playerUA(rng), ASN: homeASN(i)}
				sess := newSession(id, kind, u, []Identity{me})
				p := newPlayer(dev(sess, me), u, rng)
				adjust(p)
				return sess, &legitViewer{p: p}
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	for h := range c.Households {
		err := add(KindHousehold, func(idx int, id, u string) (*session, model) {
			rng := s.rng(idx, 1)
			uas := threeUAs(rng)
			cty := legitCountry(h)
			v := &household{}
			ids := make([]Identity, 3)
			sess := newSession(id, KindHousehold, u, ids)
			for d := range 3 {
				ids[d] = Identity{IP: householdAddr(h), Country: cty, UserAgent: uas[d], ASN: homeASN(h)}
				v.players = append(v.players, newPlayer(dev(sess, ids[d]), u, s.rng(idx, 2+d)))
				join := time.Duration(0)
				if d > 0 {
					join = time.Duration(rng.Int64N(int64(c.Duration/10) + 1))
				}
				v.joins = append(v.joins, join)
			}
			return sess, v
		})
		if err != nil {
			return err
		}
	}
	for range c.CGNAT {
		i := n
		n++
		err := add(KindCGNAT, func(idx int, id, u string) (*session, model) {
			rng := s.rng(idx, 1)
			me := Identity{IP: cgnatAddr(rng), Country: legitCountry(i), UserAgent: playerUA(rng), ASN: asnCarrier}
			ids := []Identity{me}
			var moves []move
			for at := s.jitter(rng, cgnatEvery); at < c.Duration; at += s.jitter(rng, cgnatEvery) {
				to := Identity{IP: cgnatAddr(rng), Country: me.Country, UserAgent: me.UserAgent, ASN: asnCarrier}
				ids = append(ids, to)
				moves = append(moves, move{at: at, to: to})
			}
			sess := newSession(id, KindCGNAT, u, ids)
			return sess, &mover{p: newPlayer(dev(sess, me), u, rng), moves: moves}
		})
		if err != nil {
			return err
		}
	}
	for m := range c.Mobiles {
		i := n
		n++
		err := add(KindMobile, func(idx int, id, u string) (*session, model) {
			rng := s.rng(idx, 1)
			ua := playerUA(rng)
			ident := func(place, family int) Identity {
				v4, v6 := mobileAddrs(m, place)
				asn := []uint32{homeASN(i), asnCarrier, asnOffice}[place]
				if family == 1 {
					return Identity{IP: v6, Country: legitCountry(i), UserAgent: ua, ASN: asn}
				}
				return Identity{IP: v4, Country: legitCountry(i), UserAgent: ua, ASN: asn}
			}
			// Home, mobile data, office, mobile data, home: a fifth of the
			// run each, IPv4 and IPv6 in turn every few seconds.
			var ids []Identity
			for place := range 3 {
				ids = append(ids, ident(place, 0), ident(place, 1))
			}
			var moves []move
			phase := c.Duration / 5
			k := 0
			for at := dualStackEvery; at < c.Duration; at += dualStackEvery {
				place := []int{0, 1, 2, 1, 0}[min(int(at/phase), 4)]
				k++
				moves = append(moves, move{at: at, to: ident(place, k%2)})
			}
			sess := newSession(id, KindMobile, u, ids)
			return sess, &mover{p: newPlayer(dev(sess, ids[0]), u, rng), moves: moves}
		})
		if err != nil {
			return err
		}
	}
	seekEvery := min(30*time.Second, max(c.Duration/3, time.Second))
	if err := single(KindSeek, c.Seekers, func(p *player) { p.vodBuffer, p.seekEvery = seekBuffer, seekEvery }); err != nil {
		return err
	}
	if err := single(KindABR, c.ABR, func(p *player) { p.switchProb = abrSwitchProb }); err != nil {
		return err
	}
	pauseEvery, pauseFor := c.Duration/3, c.Duration/6
	if err := single(KindPause, c.Pausers, func(p *player) { p.pauseEvery, p.pauseFor = pauseEvery, pauseFor }); err != nil {
		return err
	}
	if err := single(KindTV, c.TVs, func(p *player) { p.vodBuffer = tvBuffer }); err != nil {
		return err
	}
	return single(KindLongVOD, c.LongVOD, func(*player) {})
}

// prepareHiding makes the sessions of the abusive kinds of issue 11.
func (s *Simulation) prepareHiding(c *Config, add addFunc, dev deviceFunc, newPlayer newPlayerFunc) error {
	w := 0 // the next wide address
	for j := range c.Wide + c.WideIntl {
		kind := KindWide
		if j >= c.Wide {
			kind = KindWideIntl
		}
		err := add(kind, func(idx int, id, u string) (*session, model) {
			ids := make([]Identity, c.WideIPs)
			v := &wideToken{}
			sess := newSession(id, kind, u, ids)
			for r := range c.WideIPs {
				rng := s.rng(idx, 1+r)
				cty, asn := wideCountry, wideASN(r)
				if kind == KindWideIntl {
					cty, asn = wideCountries[r%len(wideCountries)], foreignASN(r)
				}
				ids[r] = Identity{IP: wideAddr(w), Country: cty, UserAgent: playerUA(rng), ASN: asn}
				w++
				v.pollers = append(v.pollers, &poller{dev: dev(sess, ids[r]), master: u, every: c.WideEvery})
				v.delays = append(v.delays, time.Duration(rng.Int64N(int64(time.Second))))
			}
			return sess, v
		})
		if err != nil {
			return err
		}
	}
	for r := range c.Relays {
		err := add(KindRelay, func(idx int, id, u string) (*session, model) {
			me := Identity{IP: restreamerAddr(c.Restreamers + r), Country: restreamerCountry, UserAgent: restreamerUA, ASN: asnDataCentre}
			sess := newSession(id, KindRelay, u, []Identity{me})
			p := newPlayer(dev(sess, me), u, s.rng(idx, 1))
			p.all, p.switchProb = true, 0
			return sess, &legitViewer{p: p}
		})
		if err != nil {
			return err
		}
	}
	d := 0
	for _, dl := range []struct {
		kind  Kind
		n     int
		speed float64
	}{{KindDownloader4x, c.Downloaders4x, 4}, {KindDownloader10x, c.Downloaders10x, 10}} {
		for range dl.n {
			a := downloaderAddr(d)
			d++
			err := add(dl.kind, func(idx int, id, u string) (*session, model) {
				me := Identity{IP: a, Country: legitCountry(idx), ASN: homeASN(idx),
					UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"}
				sess := newSession(id, dl.kind, u, []Identity{me})
				p := newPlayer(dev(sess, me), u, s.rng(idx, 1))
				p.speed, p.best, p.vodBuffer, p.switchProb = dl.speed, true, 1, 0
				return sess, &legitViewer{p: p}
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// jitter returns d times a random factor from 0.5 to 1.5.
func (s *Simulation) jitter(rng *rand.Rand, d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.5 + rng.Float64()))
}
