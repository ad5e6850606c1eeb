package simulate

import (
	"context"
	"net/url"
	"sync"
	"time"
)

// wideToken is one token asked for from many places, each rarely: K
// addresses, each in a /24 of its own (in one country, or in five), each
// asking for the newest segment once every WideEvery, all starting
// within a second. No two ask at the same time; over a minute, K places
// use the token. A token resold to many viewers who each check in now
// and then, or a scraper spread over a proxy pool, looks so; a detector
// that counts only places at the same instant, or remembers few
// addresses, never sees it.
type wideToken struct {
	pollers []*poller
	delays  []time.Duration
}

func (v *wideToken) run(ctx context.Context) {
	var wg sync.WaitGroup
	for i, p := range v.pollers {
		wg.Go(func() {
			if sleep(ctx, v.delays[i]) {
				p.run(ctx)
			}
		})
	}
	wg.Wait()
}

// poller asks for a stream's first media playlist and its newest segment
// every `every`, from one device, after reading the multivariant
// playlist once.
type poller struct {
	dev    *device
	master string
	every  time.Duration
}

func (p *poller) run(ctx context.Context) {
	base, err := url.Parse(p.master)
	if err != nil {
		return
	}
	var media string
	for media == "" {
		body, err := p.dev.get(ctx, p.master, false)
		switch {
		case stopped(ctx, err):
			return
		case err == nil && isMediaPlaylist(body):
			media = p.master
		case err == nil:
			mv, perr := parseMultivariant(body)
			if perr != nil {
				p.dev.s.fail(perr)
				return
			}
			media = resolve(base, mv.variants[0])
		default:
			if !sleep(ctx, masterRetry) {
				return
			}
		}
	}
	mb, _ := url.Parse(media)
	for {
		body, err := p.dev.get(ctx, media, false)
		if stopped(ctx, err) {
			return
		}
		if err == nil {
			if pl, perr := parseMedia(body); perr == nil && len(pl.segments) > 0 {
				if _, err := p.dev.get(ctx, resolve(mb, pl.segments[len(pl.segments)-1]), true); stopped(ctx, err) {
					return
				}
			}
		}
		if !sleep(ctx, p.every) {
			return
		}
	}
}

var _ model = (*wideToken)(nil)
