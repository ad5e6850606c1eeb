package simulate

import (
	"context"
	"sync"
	"time"
)

// sharedToken is one token replayed at once from K addresses in K
// countries, each in a /24 (or /48) of its own: a token posted on a forum
// or sold. Each replica is a player at the real cadence, starting within a
// second of the others. Every such token shared to 3 or more addresses
// must be blocked, within 10 s (p95) of its first request.
type sharedToken struct {
	replicas []*player
	// delays are the replicas' start delays, under a second.
	delays []time.Duration
}

func (v *sharedToken) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, p := range v.replicas {
		wg.Go(func() {
			if sleep(ctx, v.delays[i]) {
				p.run(ctx)
			}
		})
	}
	wg.Wait()
}

var _ model = (*sharedToken)(nil)
