package simulate

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"
)

// liveStartSegments is how far behind the live edge a player starts, in
// segments: HLS (RFC 8216, 6.3.3) says at least three target durations
// from the end of the playlist.
const liveStartSegments = 3

// masterRetry is how long a player waits before asking again for a
// multivariant playlist that failed.
const masterRetry = time.Second

// player plays one HLS stream on one device as hls.js, AVPlayer or
// ExoPlayer do, in real time: the multivariant playlist once, then one
// video rendition and the audio rendition. A live media playlist is
// reloaded every target duration (half of it when it has not changed) and
// each new segment is fetched once, starting three segments behind the
// live edge; a VOD playlist is read once and its segments fetched one per
// target duration after a buffer of three, from the start again at the end.
// Now and then (switchProb per reload) it switches video rendition, as
// adaptive bit rate does, continuing at the same sequence number. It stops
// at the first blocked answer or at the end of ctx.
type player struct {
	dev        *device
	master     string // URL of the multivariant (or media) playlist
	rng        *rand.Rand
	switchProb float64
	// vodBuffer is how many segments of a VOD title it fetches at once at
	// its start and after a seek (0: liveStartSegments): its forward
	// buffer, which it keeps by fetching one segment per segment played.
	vodBuffer int
	// speed is the media seconds of a VOD title fetched per wall second
	// after the buffer (0: 1, real time); a downloader's is more.
	speed float64
	// seekEvery: about this often (from half to one and a half times), a
	// VOD player seeks to a random segment and fills its buffer there.
	seekEvery time.Duration
	// pauseEvery, pauseFor: about every pauseEvery, it stops fetching for
	// pauseFor, then goes on where it was.
	pauseEvery, pauseFor time.Duration
	// all plays every rendition at once, variants and audio: a restreamer
	// relaying each at real time. best plays the last variant (the
	// highest), as a downloader does; otherwise a random one.
	all, best bool
}

// track is one rendition being played.
type track struct {
	uri    string
	mapURI string         // the initialization segment fetched
	last   int64          // sequence number of the last segment fetched; -1: none
	vod    *mediaPlaylist // a VOD playlist, read once
	next   time.Time      // when the track's next step is due
	burst  bool           // fill the buffer at the next step (after a seek)
}

// jitter returns d times a random factor from 0.5 to 1.5.
func (p *player) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.5 + p.rng.Float64()))
}

// run plays until blocked or the end of ctx. An error that stops it
// otherwise (a playlist it cannot read) is noted in the session.
func (p *player) run(ctx context.Context) {
	if err := p.play(ctx); err != nil && !stopped(ctx, err) {
		p.dev.s.fail(err)
	}
}

func (p *player) play(ctx context.Context) error {
	base, err := url.Parse(p.master)
	if err != nil {
		return err
	}
	mv, err := p.loadMaster(ctx)
	if err != nil {
		return err
	}
	variant := p.rng.IntN(len(mv.variants))
	if p.best {
		variant = len(mv.variants) - 1
	}
	tracks := []*track{{uri: mv.variants[variant], last: -1}}
	switch {
	case p.all:
		for _, u := range mv.all()[1:] {
			tracks = append(tracks, &track{uri: u, last: -1})
		}
		tracks[0].uri = mv.all()[0]
	case len(mv.audio) > 0:
		tracks = append(tracks, &track{uri: mv.audio[0], last: -1})
	}
	var nextSeek, nextPause time.Time
	if p.seekEvery > 0 {
		nextSeek = time.Now().Add(p.jitter(p.seekEvery))
	}
	if p.pauseEvery > 0 {
		nextPause = time.Now().Add(p.jitter(p.pauseEvery))
	}
	for {
		now := time.Now()
		if !nextPause.IsZero() && !now.Before(nextPause) {
			if !sleep(ctx, p.pauseFor) {
				return nil
			}
			for _, t := range tracks {
				t.next = t.next.Add(p.pauseFor)
			}
			now = time.Now()
			nextPause = now.Add(p.jitter(p.pauseEvery))
		}
		if !nextSeek.IsZero() && !now.Before(nextSeek) {
			p.seek(tracks)
			nextSeek = now.Add(p.jitter(p.seekEvery))
		}
		next := time.Time{}
		for _, t := range tracks {
			if t.next.After(now) {
				if next.IsZero() || t.next.Before(next) {
					next = t.next
				}
				continue
			}
			d, err := p.step(ctx, base, t)
			if stopped(ctx, err) {
				return nil
			}
			if err != nil {
				d = masterRetry
			}
			t.next = now.Add(d)
			if next.IsZero() || t.next.Before(next) {
				next = t.next
			}
			if t == tracks[0] && !p.all && len(mv.variants) > 1 && p.rng.Float64() < p.switchProb {
				variant = (variant + 1 + p.rng.IntN(len(mv.variants)-1)) % len(mv.variants)
				tracks[0] = &track{uri: mv.variants[variant], last: t.last, next: t.next}
			}
		}
		if !sleep(ctx, time.Until(next)) {
			return nil
		}
	}
}

// loadMaster fetches the multivariant playlist, retrying until it comes.
// A media playlist in its place is played as the only variant.
func (p *player) loadMaster(ctx context.Context) (*multivariant, error) {
	for {
		body, err := p.dev.get(ctx, p.master, false)
		if stopped(ctx, err) {
			return nil, err
		}
		if err == nil {
			if isMediaPlaylist(body) {
				return &multivariant{variants: []string{p.master}}, nil
			}
			mv, perr := parseMultivariant(body)
			if perr != nil {
				return nil, fmt.Errorf("%s: %w", p.master, perr)
			}
			return mv, nil
		}
		if !sleep(ctx, masterRetry) {
			return nil, ctx.Err()
		}
	}
}

// step reloads a track's playlist (live) and fetches the segments due. It
// returns when the track wants its next step.
func (p *player) step(ctx context.Context, master *url.URL, t *track) (time.Duration, error) {
	base, err := url.Parse(resolve(master, t.uri))
	if err != nil {
		return 0, err
	}
	pl := t.vod
	if pl == nil {
		body, err := p.dev.get(ctx, base.String(), false)
		if err != nil {
			return 0, err
		}
		if pl, err = parseMedia(body); err != nil {
			return 0, err
		}
		if pl.endList {
			t.vod = pl
		}
	}
	if len(pl.segments) == 0 {
		return pl.targetDuration / 2, nil
	}
	if pl.mapURI != "" && pl.mapURI != t.mapURI {
		if _, err := p.dev.get(ctx, resolve(base, pl.mapURI), true); err != nil {
			return 0, err
		}
		t.mapURI = pl.mapURI
	}
	first, last := pl.mediaSequence, pl.lastSequence()
	from := t.last + 1
	switch {
	case t.vod != nil:
		// VOD: a buffer (three segments unless set), then one per target
		// duration (divided by the speed), from the start again after the
		// last.
		n := int64(1)
		if t.last < 0 || t.burst {
			n = int64(cmp.Or(p.vodBuffer, liveStartSegments))
			t.burst = false
		}
		for i := int64(0); i < n; i++ {
			seq := t.last + 1
			if seq < first || seq > last {
				seq = first
			}
			if _, err := p.dev.get(ctx, resolve(base, pl.segments[seq-first]), true); err != nil {
				return 0, err
			}
			t.last = seq
		}
		if p.speed > 1 {
			return time.Duration(float64(pl.targetDuration) / p.speed), nil
		}
		return pl.targetDuration, nil
	case t.last < 0:
		from = max(first, last-liveStartSegments+1)
	case from < first:
		from = first // fell out of the window: join it again
	}
	changed := from <= last
	for seq := from; seq <= last; seq++ {
		if _, err := p.dev.get(ctx, resolve(base, pl.segments[seq-first]), true); err != nil {
			return 0, err
		}
		t.last = seq
	}
	if !changed {
		return pl.targetDuration / 2, nil
	}
	return pl.targetDuration, nil
}

// seek moves every VOD track to one random segment, to fill the buffer
// there at its next step.
func (p *player) seek(tracks []*track) {
	var pl *mediaPlaylist
	for _, t := range tracks {
		if t.vod != nil {
			pl = t.vod
			break
		}
	}
	if pl == nil || len(pl.segments) < 2 {
		return
	}
	to := pl.mediaSequence + p.rng.Int64N(int64(len(pl.segments)))
	for _, t := range tracks {
		if t.vod != nil {
			t.last, t.burst = to-1, true
		}
	}
}

// resolve resolves a playlist URI against the playlist's URL: relative
// URIs keep the token that SMDE puts in the path.
func resolve(base *url.URL, ref string) string {
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return base.ResolveReference(r).String()
}
