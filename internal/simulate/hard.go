package simulate

import (
	"context"
	"sync"
	"time"
)

// household is one token played on three devices of one home behind its
// router: one address, three user agents (a TV, a tablet, a phone), each
// a player at real time, the second and third joining within the first
// tenth of the run. Three times one viewer's requests, from one place:
// the home the speed of SMDE's formula, and a detector comparing a
// session with the median, revoke after ten minutes or so.
type household struct {
	players []*player
	joins   []time.Duration
}

func (v *household) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, p := range v.players {
		wg.Go(func() {
			if sleep(ctx, v.joins[i]) {
				p.run(ctx)
			}
		})
	}
	wg.Wait()
}

// move is a change of a device's identity at a time after its start.
type move struct {
	at time.Duration
	to Identity
}

// mover is one player whose device changes identity on a schedule: a
// mobile viewer behind carrier-grade NAT whose public address changes
// within the carrier's pool, or a dual-stack phone moving from home
// Wi-Fi to mobile data to an office and back, its requests going out over
// IPv4 and IPv6 in turn at each place.
type mover struct {
	p     *player
	moves []move
}

func (v *mover) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		start := time.Now()
		for _, m := range v.moves {
			if !sleep(ctx, time.Until(start.Add(m.at))) {
				return
			}
			v.p.dev.moveTo(m.to)
		}
	})
	v.p.run(ctx)
	cancel()
	wg.Wait()
}

var (
	_ model = (*household)(nil)
	_ model = (*mover)(nil)
)
