package mediatime

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// The parts of a DASH MPD (ISO/IEC 23009-1) that say where segments are
// and how long they last.
type (
	mpdDoc struct {
		XMLName xml.Name    `xml:"MPD"`
		BaseURL []string    `xml:"BaseURL"`
		Periods []mpdPeriod `xml:"Period"`
	}
	mpdPeriod struct {
		BaseURL  []string      `xml:"BaseURL"`
		Template *mpdTemplate  `xml:"SegmentTemplate"`
		Sets     []mpdAdaptSet `xml:"AdaptationSet"`
	}
	mpdAdaptSet struct {
		BaseURL  []string     `xml:"BaseURL"`
		Template *mpdTemplate `xml:"SegmentTemplate"`
		Reps     []mpdRep     `xml:"Representation"`
	}
	mpdRep struct {
		ID        string       `xml:"id,attr"`
		Bandwidth string       `xml:"bandwidth,attr"`
		BaseURL   []string     `xml:"BaseURL"`
		Template  *mpdTemplate `xml:"SegmentTemplate"`
	}
	mpdTemplate struct {
		Media     *string      `xml:"media,attr"`
		Timescale *string      `xml:"timescale,attr"`
		Duration  *string      `xml:"duration,attr"`
		Timeline  *mpdTimeline `xml:"SegmentTimeline"`
	}
	mpdTimeline struct {
		S []struct {
			D string `xml:"d,attr"`
			R string `xml:"r,attr"`
		} `xml:"S"`
	}
)

// IsMPD reports whether a manifest fetched from rawURL is a DASH MPD: by
// its path, else by an <MPD element near its start.
func IsMPD(rawURL string, body []byte) bool {
	if u, err := url.Parse(rawURL); err == nil && strings.HasSuffix(u.Path, ".mpd") {
		return true
	}
	return bytes.Contains(body[:min(len(body), 1024)], []byte("<MPD"))
}

// ParseMPD reads a DASH MPD fetched from base and returns one rendition
// per Representation addressed by a SegmentTemplate with a media
// attribute: its segments' path (the template with $RepresentationID$
// and $Bandwidth$ filled in, $Number$ and $Time$ as 0) resolved against
// the BaseURLs and base, and their duration (duration/timescale, or the
// mean of the SegmentTimeline). Representations addressed otherwise
// (SegmentBase, SegmentList) are left out, as are those on another host.
// It refuses what is not an MPD, and numbers that do not parse.
func ParseMPD(base *url.URL, body []byte) ([]Rendition, error) {
	var doc mpdDoc
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("dash: %w", err)
	}
	var out []Rendition
	root, err := baseOf(base, doc.BaseURL)
	if err != nil {
		return nil, err
	}
	for _, p := range doc.Periods {
		pb, err := baseOf(root, p.BaseURL)
		if err != nil {
			return nil, err
		}
		for _, as := range p.Sets {
			ab, err := baseOf(pb, as.BaseURL)
			if err != nil {
				return nil, err
			}
			for _, r := range as.Reps {
				rb, err := baseOf(ab, r.BaseURL)
				if err != nil {
					return nil, err
				}
				t := merge(p.Template, as.Template, r.Template)
				if t.Media == nil {
					continue
				}
				ms, err := t.ms()
				if err != nil {
					return nil, fmt.Errorf("dash: representation %q: %w", r.ID, err)
				}
				media, err := fill(*t.Media, &r)
				if err != nil {
					return nil, fmt.Errorf("dash: representation %q: %w", r.ID, err)
				}
				u, err := rb.Parse(media)
				if err != nil {
					return nil, fmt.Errorf("dash: representation %q: media: %w", r.ID, err)
				}
				if ms == 0 || u.Host != base.Host || u.Scheme != base.Scheme {
					continue
				}
				out = append(out, Rendition{Path: u.EscapedPath(), MS: ms})
			}
		}
	}
	return out, nil
}

// baseOf resolves the first BaseURL of an element against the parent's.
func baseOf(parent *url.URL, bases []string) (*url.URL, error) {
	if len(bases) == 0 {
		return parent, nil
	}
	u, err := parent.Parse(strings.TrimSpace(bases[0]))
	if err != nil {
		return nil, fmt.Errorf("dash: BaseURL: %w", err)
	}
	return u, nil
}

// merge returns the SegmentTemplate in force: each attribute from the
// innermost level that has it.
func merge(levels ...*mpdTemplate) mpdTemplate {
	var t mpdTemplate
	for _, l := range levels {
		if l == nil {
			continue
		}
		if l.Media != nil {
			t.Media = l.Media
		}
		if l.Timescale != nil {
			t.Timescale = l.Timescale
		}
		if l.Duration != nil {
			t.Duration = l.Duration
		}
		if l.Timeline != nil {
			t.Timeline = l.Timeline
		}
	}
	return t
}

// ms returns the template's mean segment duration in milliseconds; 0
// when it states none.
func (t *mpdTemplate) ms() (uint32, error) {
	scale := 1.0
	if t.Timescale != nil {
		v, err := strconv.ParseUint(*t.Timescale, 10, 32)
		if err != nil || v == 0 {
			return 0, fmt.Errorf("timescale %q is not a positive integer", *t.Timescale)
		}
		scale = float64(v)
	}
	var d float64
	switch {
	case t.Timeline != nil && len(t.Timeline.S) > 0:
		var sum, n float64
		for _, s := range t.Timeline.S {
			v, err := strconv.ParseUint(s.D, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("S@d %q is not an integer", s.D)
			}
			r := int64(0)
			if s.R != "" {
				if r, err = strconv.ParseInt(s.R, 10, 32); err != nil || r < -1 {
					return 0, fmt.Errorf("S@r %q is not an integer of -1 or more", s.R)
				}
			}
			k := float64(max(r, 0) + 1)
			sum += float64(v) * k
			n += k
		}
		d = sum / n
	case t.Duration != nil:
		v, err := strconv.ParseUint(*t.Duration, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q is not an integer", *t.Duration)
		}
		d = float64(v)
	default:
		return 0, nil
	}
	ms := math.Round(d / scale * 1000)
	if ms > maxSegmentMS {
		return 0, errors.New("a segment longer than a day")
	}
	return uint32(ms), nil
}

// fill substitutes a media template's identifiers (ISO/IEC 23009-1,
// 5.3.9.4.4): $RepresentationID$ and $Bandwidth$ with the
// representation's, $Number$, $Time$ and $SubNumber$ (with or without a
// width) with 0, $$ with $.
func fill(media string, r *mpdRep) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(media, '$')
		if i < 0 {
			b.WriteString(media)
			return b.String(), nil
		}
		b.WriteString(media[:i])
		j := strings.IndexByte(media[i+1:], '$')
		if j < 0 {
			return "", fmt.Errorf("media %q: an unclosed $", media)
		}
		id := media[i+1 : i+1+j]
		name := id
		if k := strings.IndexByte(id, '%'); k >= 0 {
			name = id[:k]
		}
		switch name {
		case "":
			b.WriteByte('$')
		case "RepresentationID":
			b.WriteString(r.ID)
		case "Bandwidth":
			b.WriteString(r.Bandwidth)
		case "Number", "Time", "SubNumber":
			b.WriteByte('0')
		default:
			return "", fmt.Errorf("media %q: unknown identifier $%s$", media, id)
		}
		media = media[i+2+j:]
	}
}
