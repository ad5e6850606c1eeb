package origin

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file models the part of a DASH MPD that the origin reads from the
// clip's static manifest and writes into the live one.

// mpd is a DASH Media Presentation Description.
type mpd struct {
	XMLName                    xml.Name        `xml:"urn:mpeg:dash:schema:mpd:2011 MPD"`
	Profiles                   string          `xml:"profiles,attr,omitempty"`
	Type                       string          `xml:"type,attr,omitempty"`
	AvailabilityStartTime      string          `xml:"availabilityStartTime,attr,omitempty"`
	PublishTime                string          `xml:"publishTime,attr,omitempty"`
	MediaPresentationDuration  string          `xml:"mediaPresentationDuration,attr,omitempty"`
	MinimumUpdatePeriod        string          `xml:"minimumUpdatePeriod,attr,omitempty"`
	TimeShiftBufferDepth       string          `xml:"timeShiftBufferDepth,attr,omitempty"`
	SuggestedPresentationDelay string          `xml:"suggestedPresentationDelay,attr,omitempty"`
	MaxSegmentDuration         string          `xml:"maxSegmentDuration,attr,omitempty"`
	MinBufferTime              string          `xml:"minBufferTime,attr,omitempty"`
	Periods                    []mpdPeriod     `xml:"Period"`
	UTCTimings                 []mpdDescriptor `xml:"UTCTiming"`
}

type mpdPeriod struct {
	ID             string             `xml:"id,attr,omitempty"`
	Start          string             `xml:"start,attr,omitempty"`
	AdaptationSets []mpdAdaptationSet `xml:"AdaptationSet"`
}

type mpdAdaptationSet struct {
	ID                 string              `xml:"id,attr,omitempty"`
	ContentType        string              `xml:"contentType,attr,omitempty"`
	MimeType           string              `xml:"mimeType,attr,omitempty"`
	Codecs             string              `xml:"codecs,attr,omitempty"`
	Lang               string              `xml:"lang,attr,omitempty"`
	StartWithSAP       string              `xml:"startWithSAP,attr,omitempty"`
	SegmentAlignment   string              `xml:"segmentAlignment,attr,omitempty"`
	BitstreamSwitching string              `xml:"bitstreamSwitching,attr,omitempty"`
	FrameRate          string              `xml:"frameRate,attr,omitempty"`
	MaxWidth           string              `xml:"maxWidth,attr,omitempty"`
	MaxHeight          string              `xml:"maxHeight,attr,omitempty"`
	Par                string              `xml:"par,attr,omitempty"`
	AudioChannels      []mpdDescriptor     `xml:"AudioChannelConfiguration"`
	SegmentTemplate    *mpdSegmentTemplate `xml:"SegmentTemplate"`
	Representations    []mpdRepresentation `xml:"Representation"`
}

type mpdRepresentation struct {
	ID                string              `xml:"id,attr"`
	MimeType          string              `xml:"mimeType,attr,omitempty"`
	Codecs            string              `xml:"codecs,attr,omitempty"`
	Bandwidth         string              `xml:"bandwidth,attr,omitempty"`
	Width             string              `xml:"width,attr,omitempty"`
	Height            string              `xml:"height,attr,omitempty"`
	Sar               string              `xml:"sar,attr,omitempty"`
	FrameRate         string              `xml:"frameRate,attr,omitempty"`
	AudioSamplingRate string              `xml:"audioSamplingRate,attr,omitempty"`
	AudioChannels     []mpdDescriptor     `xml:"AudioChannelConfiguration"`
	SegmentTemplate   *mpdSegmentTemplate `xml:"SegmentTemplate"`
}

type mpdSegmentTemplate struct {
	Timescale              string `xml:"timescale,attr,omitempty"`
	Duration               string `xml:"duration,attr,omitempty"`
	PresentationTimeOffset string `xml:"presentationTimeOffset,attr,omitempty"`
	StartNumber            string `xml:"startNumber,attr,omitempty"`
	Initialization         string `xml:"initialization,attr,omitempty"`
	Media                  string `xml:"media,attr,omitempty"`
}

// mpdDescriptor is any element made of schemeIdUri and value.
type mpdDescriptor struct {
	SchemeIDURI string `xml:"schemeIdUri,attr"`
	Value       string `xml:"value,attr"`
}

// parseMPD reads a static, single-period MPD whose representations each
// have a SegmentTemplate with @duration (their own or their set's).
func parseMPD(b []byte) (*mpd, error) {
	var m mpd
	if err := xml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse mpd: %w", err)
	}
	if len(m.Periods) != 1 {
		return nil, fmt.Errorf("mpd: %d periods, want 1", len(m.Periods))
	}
	return &m, nil
}

// template returns the SegmentTemplate that applies to r in s.
func (s *mpdAdaptationSet) template(r *mpdRepresentation) (mpdSegmentTemplate, error) {
	switch {
	case r.SegmentTemplate != nil:
		return *r.SegmentTemplate, nil
	case s.SegmentTemplate != nil:
		return *s.SegmentTemplate, nil
	}
	return mpdSegmentTemplate{}, fmt.Errorf("mpd: representation %q has no SegmentTemplate", r.ID)
}

// segmentDuration is the template's @duration as a time.Duration, exact to
// the nanosecond.
func (t mpdSegmentTemplate) segmentDuration() (time.Duration, error) {
	ts, err := strconv.ParseUint(orDefault(t.Timescale, "1"), 10, 32)
	if err != nil || ts == 0 {
		return 0, fmt.Errorf("mpd: SegmentTemplate timescale %q", t.Timescale)
	}
	d, err := strconv.ParseUint(t.Duration, 10, 32)
	if err != nil || d == 0 {
		return 0, fmt.Errorf("mpd: SegmentTemplate duration %q", t.Duration)
	}
	if d*uint64(time.Second)%ts != 0 {
		return 0, fmt.Errorf("mpd: segment duration %d/%d s is not a whole number of nanoseconds", d, ts)
	}
	return time.Duration(d * uint64(time.Second) / ts), nil
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// segmentName is a SegmentTemplate @media or @initialization with its
// $RepresentationID$ filled in, split around its $Number$ (if any).
type segmentName struct {
	prefix, suffix string
	numbered       bool
}

// expandTemplate fills in $RepresentationID$ in tmpl. It accepts only
// $RepresentationID$, $Number$ (at most once) and $$.
func expandTemplate(tmpl, repID string) (segmentName, error) {
	var n segmentName
	var b strings.Builder
	for rest := tmpl; rest != ""; {
		i := strings.IndexByte(rest, '$')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		rest = rest[i+1:]
		j := strings.IndexByte(rest, '$')
		if j < 0 {
			return segmentName{}, fmt.Errorf("mpd: template %q: unpaired $", tmpl)
		}
		switch id := rest[:j]; id {
		case "":
			b.WriteByte('$')
		case "RepresentationID":
			b.WriteString(repID)
		case "Number":
			if n.numbered {
				return segmentName{}, fmt.Errorf("mpd: template %q: two $Number$", tmpl)
			}
			n.numbered, n.prefix = true, b.String()
			b.Reset()
		default:
			return segmentName{}, fmt.Errorf("mpd: template %q: $%s$ not supported", tmpl, id)
		}
		rest = rest[j+1:]
	}
	if n.numbered {
		n.suffix = b.String()
	} else {
		n.prefix = b.String()
	}
	return n, nil
}

// name returns the name of segment number num.
func (n segmentName) name(num uint64) string {
	if !n.numbered {
		return n.prefix
	}
	return n.prefix + strconv.FormatUint(num, 10) + n.suffix
}

// number returns the number in name, if name is one of n's names: decimal
// digits without a leading zero.
func (n segmentName) number(name string) (uint64, bool) {
	if !n.numbered || len(name) <= len(n.prefix)+len(n.suffix) ||
		!strings.HasPrefix(name, n.prefix) || !strings.HasSuffix(name, n.suffix) {
		return 0, false
	}
	digits := name[len(n.prefix) : len(name)-len(n.suffix)]
	if digits[0] == '0' && len(digits) > 1 {
		return 0, false
	}
	for i := range len(digits) {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	num, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return num, true
}

// isoDuration formats d as an xs:duration in seconds, e.g. PT2S, PT0.5S.
func isoDuration(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S"
}
