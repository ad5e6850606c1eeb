package simulate

import (
	"context"
	"sync"
	"time"
)

// homeViewers is one token played on two devices of one home at once: two
// addresses in one /24 (a carrier's NAT pool), two user agents (a TV and a
// phone, say), one country. The second device joins after a delay. Two
// addresses at once, but next to each other: what a household does, and
// what a good detector must not block.
type homeViewers struct {
	first, second *player
	join          time.Duration
}

func (v *homeViewers) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { v.first.run(ctx) })
	if sleep(ctx, v.join) {
		v.second.run(ctx)
	}
	wg.Wait()
}

var _ model = (*homeViewers)(nil)
