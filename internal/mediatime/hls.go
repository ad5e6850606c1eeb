package mediatime

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
)

// maxSegmentMS bounds a segment's duration: a day.
const maxSegmentMS = 24 * 3600 * 1000

// ParseHLS reads an HLS playlist (RFC 8216) fetched from base and returns
// its renditions: for a media playlist, one, with the mean EXTINF
// duration of its segments; for a multivariant playlist, none. Segment
// URIs on another host than base's are left out (their paths are not
// this origin's). It refuses what is not a playlist: no #EXTM3U first
// line, an EXTINF that is not a number of seconds from 0 to a day, or an
// EXTINF with no URI after it.
func ParseHLS(base *url.URL, body []byte) ([]Rendition, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	line, rest := next(body)
	if string(bytes.TrimRight(line, " \t")) != "#EXTM3U" {
		return nil, errors.New("hls: the first line is not #EXTM3U")
	}
	type sum struct {
		path  string
		ms, n float64
	}
	var sums []sum
	find := func(p string) *sum {
		t := Template(p)
		for i := range sums {
			if Template(sums[i].path) == t {
				return &sums[i]
			}
		}
		sums = append(sums, sum{path: p})
		return &sums[len(sums)-1]
	}
	pending := -1.0 // the EXTINF waiting for its URI, in ms
	for n := 2; len(rest) > 0; n++ {
		line, rest = next(rest)
		line = bytes.TrimSpace(line)
		switch {
		case len(line) == 0:
		case bytes.HasPrefix(line, []byte("#EXTINF:")):
			v := line[len("#EXTINF:"):]
			if i := bytes.IndexByte(v, ','); i >= 0 {
				v = v[:i]
			}
			s, err := strconv.ParseFloat(string(bytes.TrimSpace(v)), 64)
			if err != nil || math.IsNaN(s) || s < 0 || s*1000 > maxSegmentMS {
				return nil, fmt.Errorf("hls: line %d: EXTINF %q is not a duration in seconds", n, v)
			}
			if pending >= 0 {
				return nil, fmt.Errorf("hls: line %d: EXTINF without a URI before it", n)
			}
			pending = s * 1000
		case line[0] == '#':
		default:
			if pending < 0 {
				continue // a multivariant playlist's variant URI
			}
			u, err := base.Parse(string(line))
			if err != nil {
				return nil, fmt.Errorf("hls: line %d: URI: %w", n, err)
			}
			if u.Host == base.Host && u.Scheme == base.Scheme {
				s := find(u.EscapedPath())
				s.ms += pending
				s.n++
			}
			pending = -1
		}
	}
	if pending >= 0 {
		return nil, errors.New("hls: the last EXTINF has no URI")
	}
	out := make([]Rendition, 0, len(sums))
	for _, s := range sums {
		out = append(out, Rendition{Path: s.path, MS: uint32(math.Round(s.ms / s.n))})
	}
	return out, nil
}

// next splits b at its first line end (LF or CRLF).
func next(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	return bytes.TrimSuffix(b[:i], []byte("\r")), b[i+1:]
}
