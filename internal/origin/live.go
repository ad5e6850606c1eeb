package origin

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"time"
)

// utcTimingScheme is the DASH clock-sync scheme of the origin's /time: an
// ISO 8601 date-time in the body of an HTTP GET.
const utcTimingScheme = "urn:mpeg:dash:utc:http-iso:2014"

// live makes the simulated live stream out of the clip: media playlists
// and a dynamic MPD for a point in time, and retimed segments.
type live struct {
	clip *clip
	tl   timeline
	mpd  mpd // the dynamic MPD, but for publishTime and UTCTiming
}

func newLive(c *clip, tl timeline) *live {
	return &live{clip: c, tl: tl, mpd: dynamicMPD(c, tl)}
}

// dynamicMPD turns the clip's static MPD into the live one: type dynamic,
// availabilityStartTime at the epoch, and every SegmentTemplate numbering
// from 1 at the epoch, which is live segment 1.
func dynamicMPD(c *clip, tl timeline) mpd {
	static := c.mpd
	m := *static
	m.Type = "dynamic"
	m.MediaPresentationDuration = ""
	m.AvailabilityStartTime = tl.epoch.UTC().Format(time.RFC3339Nano)
	m.MinimumUpdatePeriod = isoDuration(tl.segDur)
	m.MaxSegmentDuration = isoDuration(c.maxSegment)
	m.TimeShiftBufferDepth = isoDuration(tl.depth())
	// Players start this far behind the live edge: 4 segments, which
	// ffmpeg needs (its DASH demuxer starts there, reads at full speed,
	// and skips any segment that it asks for before it is available).
	m.SuggestedPresentationDelay = isoDuration(time.Duration(min(4, tl.window-1)) * tl.segDur)
	liveTemplate := func(t *mpdSegmentTemplate) *mpdSegmentTemplate {
		if t == nil {
			return nil
		}
		c := *t
		c.StartNumber, c.PresentationTimeOffset = "1", ""
		return &c
	}
	p := static.Periods[0]
	p.Start = "PT0S"
	p.AdaptationSets = append([]mpdAdaptationSet(nil), p.AdaptationSets...)
	for i := range p.AdaptationSets {
		set := &p.AdaptationSets[i]
		set.SegmentTemplate = liveTemplate(set.SegmentTemplate)
		set.Representations = append([]mpdRepresentation(nil), set.Representations...)
		for j := range set.Representations {
			r := &set.Representations[j]
			r.SegmentTemplate = liveTemplate(r.SegmentTemplate)
		}
	}
	m.Periods = []mpdPeriod{p}
	return m
}

// manifest returns the live MPD at now, with its UTCTiming pointing at
// timeURL, and when it last changed; ok is false until a segment is
// available.
func (l *live) manifest(now time.Time, timeURL string) (body []byte, modified time.Time, ok bool, err error) {
	_, last, ok := l.tl.span(now)
	if !ok {
		return nil, time.Time{}, false, nil
	}
	modified = l.tl.availableAt(last)
	m := l.mpd
	m.PublishTime = modified.UTC().Format(time.RFC3339Nano)
	m.UTCTimings = []mpdDescriptor{{SchemeIDURI: utcTimingScheme, Value: timeURL}}
	out, err := xml.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, time.Time{}, false, fmt.Errorf("live mpd: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), modified, true, nil
}

// playlist returns the live HLS media playlist of r at now, and when it
// last changed; ok is false until a segment is available.
func (l *live) playlist(r *rendition, now time.Time) (body []byte, modified time.Time, ok bool) {
	first, last, ok := l.tl.span(now)
	if !ok {
		return nil, time.Time{}, false
	}
	ts := float64(r.track.timescale)
	var b bytes.Buffer
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:%d\n",
		l.clip.target, first)
	fmt.Fprintf(&b, "#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"%s\"\n", r.init.name)
	fmt.Fprintf(&b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", l.mediaTime(r, first).UTC().Format("2006-01-02T15:04:05.000Z"))
	for n := first; n <= last; n++ {
		i, _ := l.tl.position(n)
		b.WriteString("#EXTINF:")
		b.WriteString(strconv.FormatFloat(float64(r.segments[i].duration)/ts, 'f', 6, 64))
		b.WriteString(",\n")
		b.WriteString(r.media.name(n))
		b.WriteByte('\n')
	}
	return b.Bytes(), l.tl.availableAt(last), true
}

// mediaTime returns the wall time at which live segment n of r starts, by
// its media time: the epoch plus its retimed baseMediaDecodeTime, less that
// of the clip's first segment.
func (l *live) mediaTime(r *rendition, n uint64) time.Time {
	i, loops := l.tl.position(n)
	into := ticksDuration(r.segments[i].start-r.segments[0].start, r.track.timescale)
	return l.tl.epoch.Add(time.Duration(loops) * l.clip.length).Add(into)
}

// segment returns live segment n of r: the clip's segment with its mfhd
// sequence number set to n and its times moved by the loops before it.
func (l *live) segment(r *rendition, n uint64) ([]byte, error) {
	i, loops := l.tl.position(n)
	s := r.segments[i]
	b, err := s.frag.retime(s.asset.data, uint32(n), l.clip.shift(loops))
	if err != nil {
		return nil, fmt.Errorf("live segment %d of %s: %w", n, s.asset.name, err)
	}
	return b, nil
}
