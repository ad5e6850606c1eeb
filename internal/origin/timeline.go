package origin

import "time"

// timeline maps wall time to the segments of the simulated live stream.
//
// Live segment n (n ≥ 1) covers [epoch + (n-1)·segDur, epoch + n·segDur)
// and becomes available when it ends. It plays clip segment (n-1) mod count,
// moved later by (n-1) div count periods of the clip, so that media time
// grows without a jump from one loop to the next.
type timeline struct {
	epoch  time.Time
	segDur time.Duration
	count  int // clip segments per loop
	window int // segments listed in a live playlist
}

// latest returns the number of the newest available segment at now, or 0
// before the first one is complete.
func (t timeline) latest(now time.Time) uint64 {
	if !now.After(t.epoch) {
		return 0
	}
	return uint64(now.Sub(t.epoch) / t.segDur)
}

// span returns the first and last segments that live playlists list at
// now; ok is false until a segment is available.
func (t timeline) span(now time.Time) (first, last uint64, ok bool) {
	last = t.latest(now)
	if last == 0 {
		return 0, 0, false
	}
	first = 1
	if w := uint64(t.window); last > w {
		first = last - w + 1
	}
	return first, last, true
}

// available reports whether segment n may be fetched at now: it is
// complete, and it left the live playlists no more than one window ago
// (players that started late, or an edge filling its cache, still find it).
func (t timeline) available(n uint64, now time.Time) bool {
	last := t.latest(now)
	return n >= 1 && n <= last && last-n < 2*uint64(t.window)
}

// position returns the clip segment that live segment n plays, and how many
// whole loops of the clip precede it.
func (t timeline) position(n uint64) (index int, loops uint64) {
	k := n - 1
	return int(k % uint64(t.count)), k / uint64(t.count)
}

// availableAt returns when segment n becomes available; n must not be past
// latest(now) for a representable now.
func (t timeline) availableAt(n uint64) time.Time {
	return t.epoch.Add(time.Duration(n) * t.segDur)
}

// depth is how long the live playlists reach back.
func (t timeline) depth() time.Duration {
	return time.Duration(t.window) * t.segDur
}
