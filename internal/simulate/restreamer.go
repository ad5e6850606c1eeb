package simulate

import (
	"context"
	"net/url"

	"golang.org/x/time/rate"
)

// restreamer is a server that pulls a stream to serve it again elsewhere:
// one address in a data centre, ffmpeg's user agent, and every rendition
// (all video variants and the audio) fetched over and over, as fast as it
// can: each round reads every media playlist and every segment it lists,
// the whole live window (or the whole VOD title), without waiting, as a
// restreaming box does that starts a fresh puller per outgoing stream.
// Its limiter caps its request rate (the link of a real one would), so
// that a run measures the detector rather than the machine running it.
type restreamer struct {
	dev    *device
	master string
	limit  *rate.Limiter
}

func (v *restreamer) run(ctx context.Context) {
	base, err := url.Parse(v.master)
	if err != nil {
		return
	}
	var mv *multivariant
	for mv == nil {
		if v.limit.Wait(ctx) != nil {
			return
		}
		body, err := v.dev.get(ctx, v.master, false)
		switch {
		case stopped(ctx, err):
			return
		case err != nil:
			if !sleep(ctx, masterRetry) {
				return
			}
			continue
		case isMediaPlaylist(body):
			mv = &multivariant{variants: []string{v.master}}
		default:
			if mv, err = parseMultivariant(body); err != nil {
				v.dev.s.fail(err)
				return
			}
		}
	}
	for {
		served := 0
		for _, uri := range mv.all() {
			n, ok := v.pull(ctx, base, uri)
			if !ok {
				return
			}
			served += n
		}
		// A round without a single answer (the origin is away, say): pause
		// rather than spin.
		if served == 0 && !sleep(ctx, masterRetry) {
			return
		}
	}
}

// pull fetches one rendition's playlist, initialization segment and every
// segment listed. It returns how many answers were 2xx, and false when the
// restreamer must stop.
func (v *restreamer) pull(ctx context.Context, master *url.URL, uri string) (int, bool) {
	plURL, err := url.Parse(resolve(master, uri))
	if err != nil {
		return 0, false
	}
	if v.limit.Wait(ctx) != nil {
		return 0, false
	}
	body, err := v.dev.get(ctx, plURL.String(), false)
	if stopped(ctx, err) {
		return 0, false
	}
	if err != nil {
		return 0, true
	}
	pl, err := parseMedia(body)
	if err != nil {
		return 0, true
	}
	n := 1
	files := pl.segments
	if pl.mapURI != "" {
		files = append([]string{pl.mapURI}, files...)
	}
	for _, f := range files {
		if v.limit.Wait(ctx) != nil {
			return n, false
		}
		_, err := v.dev.get(ctx, resolve(plURL, f), true)
		if stopped(ctx, err) {
			return n, false
		}
		if err == nil {
			n++
		}
	}
	return n, true
}

var _ model = (*restreamer)(nil)
