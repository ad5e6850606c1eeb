package mediatime

import (
	"hash/maphash"
	"net/url"
	"sync"
	"sync/atomic"
)

// MaxRenditions bounds the renditions a Durations remembers; beyond, a
// new one replaces an arbitrary one (Go's map order).
const MaxRenditions = 100_000

// Durations holds the media duration of each rendition's segments, by
// segment path template, learned from manifests. Learn and Lookup are
// safe from many goroutines.
type Durations struct {
	seed maphash.Seed
	mu   sync.RWMutex
	ms   map[uint64]uint32
	n    atomic.Int64 // entries, read without the lock
	// Learned and Refused count the manifests read and those that did
	// not parse.
	Learned, Refused atomic.Uint64
}

// NewDurations returns an empty Durations.
func NewDurations() *Durations {
	return &Durations{seed: maphash.MakeSeed(), ms: map[uint64]uint32{}}
}

// Lookup returns the media duration, in milliseconds, of the segment at
// origin path p; false when no manifest served so far lists its
// rendition. It costs a hash and a map read, and nothing at all while
// nothing was learned.
func (d *Durations) Lookup(p string) (uint32, bool) {
	if d == nil || d.n.Load() == 0 {
		return 0, false
	}
	k, _, ok := Key(d.seed, p)
	if !ok {
		return 0, false
	}
	d.mu.RLock()
	ms, ok := d.ms[k]
	d.mu.RUnlock()
	return ms, ok
}

// Learn reads a manifest fetched from rawURL (an HLS media playlist or a
// DASH MPD; a multivariant playlist lists no segment and teaches
// nothing) and records the mean duration of each rendition's segments,
// by the template of their paths resolved against rawURL. It returns
// how many renditions it recorded, and an error for a manifest it
// cannot read (nothing is recorded then).
func (d *Durations) Learn(rawURL string, body []byte) (int, error) {
	base, err := url.Parse(rawURL)
	if err != nil {
		d.Refused.Add(1)
		return 0, err
	}
	var rs []Rendition
	if IsMPD(rawURL, body) {
		rs, err = ParseMPD(base, body)
	} else {
		rs, err = ParseHLS(base, body)
	}
	if err != nil {
		d.Refused.Add(1)
		return 0, err
	}
	d.Learned.Add(1)
	if len(rs) == 0 {
		return 0, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range rs {
		k, _, ok := Key(d.seed, r.Path)
		if !ok || r.MS == 0 {
			continue
		}
		if _, had := d.ms[k]; !had && len(d.ms) >= MaxRenditions {
			for old := range d.ms {
				delete(d.ms, old)
				break
			}
		}
		d.ms[k] = r.MS
	}
	d.n.Store(int64(len(d.ms)))
	return len(rs), nil
}

// Len returns the renditions held.
func (d *Durations) Len() int { return int(d.n.Load()) }

// Rendition is one rendition a manifest lists: the origin path of one of
// its segments (the template is what matters) and the mean media
// duration of its segments, in milliseconds.
type Rendition struct {
	Path string
	MS   uint32
}
