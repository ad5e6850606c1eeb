package cache

import (
	"strconv"
	"strings"
)

// rangeSpec is one byte range of a Range header (RFC 9110 section 14.1.2),
// before it is applied to a body: first-last, first- or -suffix.
type rangeSpec struct {
	first, last int64 // last is -1 for "first-"
	suffix      int64 // "-suffix" when first is -1
}

// byteRange is a range of a body: [start, end).
type byteRange struct{ start, end int64 }

// rangeOutcome is what a Range header asks of a body of known size.
type rangeOutcome int

const (
	rangeWhole         rangeOutcome = iota // no usable range: 200 with the whole body
	rangePart                              // 206 with one range
	rangeUnsatisfiable                     // 416
)

// parseRangeSpec reads a Range header holding exactly one byte range. It
// reports false for an absent or malformed header and for several ranges,
// which are all answered with the whole body.
func parseRangeSpec(h string) (rangeSpec, bool) {
	unit, set, ok := strings.Cut(h, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") || strings.Contains(set, ",") {
		return rangeSpec{}, false
	}
	a, b, ok := strings.Cut(strings.TrimSpace(set), "-")
	if !ok {
		return rangeSpec{}, false
	}
	if a == "" {
		n, ok := parseDigits(b)
		if !ok {
			return rangeSpec{}, false
		}
		return rangeSpec{first: -1, last: -1, suffix: n}, true
	}
	first, ok := parseDigits(a)
	if !ok {
		return rangeSpec{}, false
	}
	if b == "" {
		return rangeSpec{first: first, last: -1}, true
	}
	last, ok := parseDigits(b)
	if !ok || last < first {
		return rangeSpec{}, false
	}
	return rangeSpec{first: first, last: last}, true
}

// resolve applies the range to a body of size bytes.
func (s rangeSpec) resolve(size int64) (byteRange, rangeOutcome) {
	switch {
	case s.first < 0: // suffix
		if s.suffix == 0 || size == 0 {
			return byteRange{}, rangeUnsatisfiable
		}
		return byteRange{start: size - min(s.suffix, size), end: size}, rangePart
	case s.first >= size:
		return byteRange{}, rangeUnsatisfiable
	case s.last < 0 || s.last >= size:
		return byteRange{start: s.first, end: size}, rangePart
	default:
		return byteRange{start: s.first, end: s.last + 1}, rangePart
	}
}

// contentRange is the Content-Range of r in a body of size bytes.
func (r byteRange) contentRange(size int64) string {
	b := make([]byte, 0, 64)
	b = append(b, "bytes "...)
	b = strconv.AppendInt(b, r.start, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, r.end-1, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, size, 10)
	return string(b)
}

// parseDigits reads a non-negative decimal that fits an int64.
func parseDigits(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}
