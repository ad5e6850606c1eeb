package simulate

import (
	"bufio"
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file reads just enough of HLS playlists to play them as a player
// does: the renditions of a multivariant playlist, and the segments,
// sequence numbers and target duration of a media playlist.

// multivariant is what a multivariant playlist names.
type multivariant struct {
	// variants are the media playlists of EXT-X-STREAM-INF (video).
	variants []string
	// audio are the media playlists of EXT-X-MEDIA TYPE=AUDIO.
	audio []string
}

// all returns every media playlist, variants first.
func (m *multivariant) all() []string {
	return append(append([]string(nil), m.variants...), m.audio...)
}

// mediaPlaylist is what a media playlist says.
type mediaPlaylist struct {
	targetDuration time.Duration
	mediaSequence  int64
	mapURI         string
	segments       []string
	endList        bool
}

// lastSequence is the sequence number of the last segment.
func (p *mediaPlaylist) lastSequence() int64 {
	return p.mediaSequence + int64(len(p.segments)) - 1
}

var errNotPlaylist = errors.New("not an HLS playlist (no #EXTM3U)")

// lines returns the non-blank lines of a playlist.
func lines(b []byte) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 || out[0] != "#EXTM3U" {
		return nil, errNotPlaylist
	}
	return out, nil
}

// isMediaPlaylist reports whether b is a media playlist rather than a
// multivariant one.
func isMediaPlaylist(b []byte) bool {
	return bytes.Contains(b, []byte("#EXTINF")) || bytes.Contains(b, []byte("#EXT-X-TARGETDURATION"))
}

// parseMultivariant reads a multivariant playlist.
func parseMultivariant(b []byte) (*multivariant, error) {
	ls, err := lines(b)
	if err != nil {
		return nil, err
	}
	m := &multivariant{}
	streamInf := false
	for _, l := range ls {
		switch {
		case strings.HasPrefix(l, "#EXT-X-STREAM-INF:"):
			streamInf = true
		case strings.HasPrefix(l, "#EXT-X-MEDIA:"):
			if attr(l, "TYPE") == "AUDIO" {
				if u := attr(l, "URI"); u != "" {
					m.audio = append(m.audio, u)
				}
			}
		case !strings.HasPrefix(l, "#"):
			if streamInf {
				m.variants = append(m.variants, l)
			}
			streamInf = false
		}
	}
	if len(m.variants) == 0 {
		return nil, errors.New("multivariant playlist names no variant")
	}
	return m, nil
}

// parseMedia reads a media playlist.
func parseMedia(b []byte) (*mediaPlaylist, error) {
	ls, err := lines(b)
	if err != nil {
		return nil, err
	}
	p := &mediaPlaylist{}
	for _, l := range ls {
		switch {
		case strings.HasPrefix(l, "#EXT-X-TARGETDURATION:"):
			s, err := strconv.ParseFloat(strings.TrimPrefix(l, "#EXT-X-TARGETDURATION:"), 64)
			if err != nil || !(s > 0) || s > 3600 || math.IsNaN(s) {
				return nil, errors.New("bad EXT-X-TARGETDURATION")
			}
			p.targetDuration = time.Duration(s * float64(time.Second))
		case strings.HasPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"):
			n, err := strconv.ParseInt(strings.TrimPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64)
			if err != nil || n < 0 {
				return nil, errors.New("bad EXT-X-MEDIA-SEQUENCE")
			}
			p.mediaSequence = n
		case strings.HasPrefix(l, "#EXT-X-MAP:"):
			p.mapURI = attr(l, "URI")
		case l == "#EXT-X-ENDLIST":
			p.endList = true
		case !strings.HasPrefix(l, "#"):
			p.segments = append(p.segments, l)
		}
	}
	if p.targetDuration == 0 {
		return nil, errors.New("media playlist without EXT-X-TARGETDURATION")
	}
	return p, nil
}

// attr returns the value of attribute name in a tag line, unquoted.
func attr(line, name string) string {
	_, list, ok := strings.Cut(line, ":")
	if !ok {
		return ""
	}
	for list != "" {
		var k, v string
		k, list, _ = strings.Cut(list, "=")
		if strings.HasPrefix(list, `"`) {
			end := strings.IndexByte(list[1:], '"')
			if end < 0 {
				return ""
			}
			v, list = list[1:1+end], list[2+end:]
			list = strings.TrimPrefix(list, ",")
		} else {
			v, list, _ = strings.Cut(list, ",")
		}
		if strings.TrimSpace(k) == name {
			return v
		}
	}
	return ""
}
