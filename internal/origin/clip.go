package origin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Names that a clip's root must hold.
const (
	mpdName    = "manifest.mpd" // DASH manifest, static
	masterName = "master.m3u8"  // HLS multivariant playlist
)

// maxSegments bounds the segments read per rendition.
const maxSegments = 10000

// Content types.
const (
	typeHLS   = "application/vnd.apple.mpegurl"
	typeDASH  = "application/dash+xml"
	typeVideo = "video/mp4"
	typeAudio = "audio/mp4"
)

// asset is one file of the clip, as served for VOD.
type asset struct {
	name        string
	data        []byte
	contentType string
	etag        string // strong, quoted
	segment     bool   // an initialization or media segment, else a playlist or manifest
}

// clipSegment is one media segment of a rendition.
type clipSegment struct {
	asset           *asset
	frag            *fragment
	start, duration uint64 // in the track's timescale
}

// rendition is one representation of the clip: one track, one
// initialization segment, numbered media segments.
type rendition struct {
	id          string // Representation@id
	contentType string // typeVideo or typeAudio
	init        *asset
	media       segmentName // media segment names
	startNumber uint64      // number of the first media segment
	track       track
	segments    []clipSegment
	playlist    string // name of its HLS media playlist, "" if none
}

// clip is the media the origin serves: checked, parsed and held in memory.
type clip struct {
	files     map[string]*asset // every file served for VOD, by name
	mpd       *mpd              // the static manifest
	reps      []*rendition
	playlists map[string]*rendition // by HLS media playlist name
	segDur    time.Duration         // nominal segment duration (SegmentTemplate@duration)
	count     int                   // media segments per rendition
	length    time.Duration         // count × segDur: the period of the live loop
	target    int                   // HLS EXT-X-TARGETDURATION, seconds
	// maxSegment is the longest segment of any rendition.
	maxSegment time.Duration
}

// loadClip reads and checks a clip: manifest.mpd and master.m3u8 at the
// root of fsys, and every file they reference. Every rendition must last
// exactly count × segDur, so that the clip loops without drift.
func loadClip(fsys fs.FS) (*clip, error) {
	c := &clip{files: map[string]*asset{}, playlists: map[string]*rendition{}}
	mpdAsset, err := c.add(fsys, mpdName, typeDASH, false)
	if err != nil {
		return nil, err
	}
	if c.mpd, err = parseMPD(mpdAsset.data); err != nil {
		return nil, err
	}
	if err := c.loadRenditions(fsys); err != nil {
		return nil, err
	}
	if err := c.loadHLS(fsys); err != nil {
		return nil, err
	}
	return c, nil
}

// add reads a file of the clip into c.files.
func (c *clip) add(fsys fs.FS, name, contentType string, segment bool) (*asset, error) {
	if a, ok := c.files[name]; ok {
		return a, nil
	}
	if !fs.ValidPath(name) || strings.Contains(name, "/") {
		return nil, fmt.Errorf("clip: file name %q: want a plain name at the root", name)
	}
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	}
	sum := sha256.Sum256(b)
	a := &asset{name: name, data: b, contentType: contentType, segment: segment,
		etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	c.files[name] = a
	return a, nil
}

func (c *clip) loadRenditions(fsys fs.FS) error {
	for i := range c.mpd.Periods[0].AdaptationSets {
		set := &c.mpd.Periods[0].AdaptationSets[i]
		for j := range set.Representations {
			r, err := c.loadRendition(fsys, set, &set.Representations[j])
			if err != nil {
				return err
			}
			c.reps = append(c.reps, r)
		}
	}
	if len(c.reps) == 0 {
		return errors.New("clip: no representation in the mpd")
	}
	c.length = time.Duration(c.count) * c.segDur
	for _, r := range c.reps {
		if err := c.checkLoop(r); err != nil {
			return err
		}
	}
	return nil
}

func (c *clip) loadRendition(fsys fs.FS, set *mpdAdaptationSet, rep *mpdRepresentation) (*rendition, error) {
	r := &rendition{id: rep.ID}
	switch mime := orDefault(rep.MimeType, set.MimeType); mime {
	case typeVideo, typeAudio:
		r.contentType = mime
	default:
		return nil, fmt.Errorf("clip: representation %q: mimeType %q, want %s or %s", rep.ID, mime, typeVideo, typeAudio)
	}
	tmpl, err := set.template(rep)
	if err != nil {
		return nil, err
	}
	d, err := tmpl.segmentDuration()
	if err != nil {
		return nil, err
	}
	if c.segDur != 0 && d != c.segDur {
		return nil, fmt.Errorf("clip: representation %q: segments of %v, others %v", rep.ID, d, c.segDur)
	}
	c.segDur = d
	if r.startNumber, err = strconv.ParseUint(orDefault(tmpl.StartNumber, "1"), 10, 32); err != nil {
		return nil, fmt.Errorf("clip: representation %q: startNumber %q", rep.ID, tmpl.StartNumber)
	}
	initName, err := expandTemplate(tmpl.Initialization, rep.ID)
	if err != nil {
		return nil, err
	}
	if r.media, err = expandTemplate(tmpl.Media, rep.ID); err != nil {
		return nil, err
	}
	if initName.numbered || !r.media.numbered {
		return nil, fmt.Errorf("clip: representation %q: want $Number$ in media, not in initialization", rep.ID)
	}
	if r.init, err = c.add(fsys, initName.name(0), r.contentType, true); err != nil {
		return nil, err
	}
	tracks, err := parseInit(r.init.data)
	if err != nil {
		return nil, fmt.Errorf("clip: %s: %w", r.init.name, err)
	}
	if len(tracks) != 1 {
		return nil, fmt.Errorf("clip: %s: %d tracks, want 1", r.init.name, len(tracks))
	}
	r.track = tracks[0]
	if err := c.loadSegments(fsys, r); err != nil {
		return nil, err
	}
	return r, nil
}

// loadSegments reads the media segments of r, numbered from startNumber
// until one is missing.
func (c *clip) loadSegments(fsys fs.FS, r *rendition) error {
	for n := r.startNumber; len(r.segments) < maxSegments; n++ {
		name := r.media.name(n)
		if _, err := fs.Stat(fsys, name); errors.Is(err, fs.ErrNotExist) {
			break
		}
		a, err := c.add(fsys, name, r.contentType, true)
		if err != nil {
			return err
		}
		f, err := parseFragment(a.data, []track{r.track})
		if err != nil {
			return fmt.Errorf("clip: %s: %w", name, err)
		}
		tt, ok := f.trackTime(r.track.id)
		if !ok || len(f.tracks) != 1 {
			return fmt.Errorf("clip: %s: want fragments of track %d only", name, r.track.id)
		}
		if i := len(r.segments); i > 0 {
			if prev := r.segments[i-1]; tt.start != prev.start+prev.duration {
				return fmt.Errorf("clip: %s starts at %d, previous segment ends at %d", name, tt.start, prev.start+prev.duration)
			}
		}
		r.segments = append(r.segments, clipSegment{asset: a, frag: f, start: tt.start, duration: tt.duration})
	}
	switch {
	case len(r.segments) == 0:
		return fmt.Errorf("clip: representation %q: no segment %s", r.id, r.media.name(r.startNumber))
	case c.count != 0 && len(r.segments) != c.count:
		return fmt.Errorf("clip: representation %q: %d segments, others %d", r.id, len(r.segments), c.count)
	}
	c.count = len(r.segments)
	return nil
}

// checkLoop checks that r lasts exactly c.length, with segment i starting
// within half a segment of i × segDur, and sets c.target.
func (c *clip) checkLoop(r *rendition) error {
	want, err := c.loopTicks(r.track.timescale)
	if err != nil {
		return fmt.Errorf("clip: representation %q: %w", r.id, err)
	}
	first, last := r.segments[0], r.segments[len(r.segments)-1]
	if got := last.start + last.duration - first.start; got != want {
		return fmt.Errorf("clip: representation %q lasts %d/%d s, want %v: every rendition must last exactly as long for the live loop",
			r.id, got, r.track.timescale, c.length)
	}
	for i, s := range r.segments {
		at := ticksDuration(s.start-first.start, r.track.timescale)
		if off := at - time.Duration(i)*c.segDur; off < -c.segDur/2 || off > c.segDur/2 {
			return fmt.Errorf("clip: %s starts at %v, want %v", s.asset.name, at, time.Duration(i)*c.segDur)
		}
		d := ticksDuration(s.duration, r.track.timescale)
		c.maxSegment = max(c.maxSegment, d)
		c.target = max(c.target, int((d+time.Second/2)/time.Second), 1) // rounded, as HLS wants
	}
	return nil
}

// ticksDuration converts ticks of 1/timescale s, within one loop of the
// clip (checked by checkLoop), to a duration, rounded down to the
// nanosecond.
func ticksDuration(ticks uint64, timescale uint32) time.Duration {
	hi, lo := bits.Mul64(ticks, uint64(time.Second))
	if timescale == 0 || hi >= uint64(timescale) {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, uint64(timescale))
	return time.Duration(min(q, math.MaxInt64))
}

// loopTicks returns c.length in ticks of timescale, which must be exact.
func (c *clip) loopTicks(timescale uint32) (uint64, error) {
	hi, lo := bits.Mul64(uint64(c.length), uint64(timescale))
	if timescale == 0 || hi >= uint64(time.Second) {
		return 0, fmt.Errorf("timescale %d: loop of %v out of range", timescale, c.length)
	}
	q, rem := bits.Div64(hi, lo, uint64(time.Second))
	if rem != 0 {
		return 0, fmt.Errorf("loop of %v is not a whole number of ticks of 1/%d s", c.length, timescale)
	}
	return q, nil
}

// shift returns the function that retime needs to move a segment by loops
// periods of the clip.
func (c *clip) shift(loops uint64) func(timescale uint32) (uint64, error) {
	return func(timescale uint32) (uint64, error) {
		per, err := c.loopTicks(timescale)
		if err != nil {
			return 0, err
		}
		hi, lo := bits.Mul64(loops, per)
		if hi != 0 {
			return 0, fmt.Errorf("%d loops: %w", loops, errOverflow)
		}
		return lo, nil
	}
}

// loadHLS reads master.m3u8 and its media playlists, and matches each
// media playlist with the rendition whose initialization segment and media
// segments it lists.
func (c *clip) loadHLS(fsys fs.FS) error {
	master, err := c.add(fsys, masterName, typeHLS, false)
	if err != nil {
		return err
	}
	uris, err := playlistURIs(master.data)
	if err != nil {
		return fmt.Errorf("clip: %s: %w", masterName, err)
	}
	for _, uri := range uris {
		a, err := c.add(fsys, uri, typeHLS, false)
		if err != nil {
			return err
		}
		p, err := parseMediaPlaylist(a.data)
		if err != nil {
			return fmt.Errorf("clip: %s: %w", uri, err)
		}
		r, err := c.matchPlaylist(uri, p)
		if err != nil {
			return err
		}
		if r.playlist != "" && r.playlist != uri {
			return fmt.Errorf("clip: %s and %s list the same rendition", r.playlist, uri)
		}
		r.playlist = uri
		c.playlists[uri] = r
	}
	return nil
}

func (c *clip) matchPlaylist(uri string, p mediaPlaylist) (*rendition, error) {
	for _, r := range c.reps {
		if r.init.name != p.mapURI {
			continue
		}
		if len(p.segments) != len(r.segments) {
			return nil, fmt.Errorf("clip: %s lists %d segments, the mpd %d", uri, len(p.segments), len(r.segments))
		}
		for i, s := range r.segments {
			if p.segments[i] != s.asset.name {
				return nil, fmt.Errorf("clip: %s lists %s, the mpd %s", uri, p.segments[i], s.asset.name)
			}
		}
		return r, nil
	}
	return nil, fmt.Errorf("clip: %s: no representation has the initialization segment %s", uri, p.mapURI)
}
