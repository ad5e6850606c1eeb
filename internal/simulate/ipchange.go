package simulate

import (
	"context"
	"sync"
	"time"
)

// ipChangeViewer is a legitimate session whose device changes network once
// mid-session (home Wi-Fi to cellular): the player goes on without a
// pause, from a new address in another network of the same country. Two
// addresses one after the other, never at once: a good detector must not
// block it, and a token bound to the viewer's IP would (which is why most
// services cannot bind IP).
type ipChangeViewer struct {
	p *player
	// to is the identity after the move, after the delay from the
	// session's start.
	to    Identity
	after time.Duration
}

func (v *ipChangeViewer) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if sleep(ctx, v.after) {
			v.p.dev.moveTo(v.to)
		}
	})
	v.p.run(ctx)
	cancel()
	wg.Wait()
}

var _ model = (*ipChangeViewer)(nil)
