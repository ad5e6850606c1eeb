package mediatime

import (
	"hash/maphash"
	"strings"
)

// Digits finds the last run of digits in the name of p's last element,
// its extension left out: the segment's number or time. ok is false when
// the name has no digit.
func Digits(p string) (lo, hi int, ok bool) {
	start := strings.LastIndexByte(p, '/') + 1
	hi = len(p)
	if dot := strings.LastIndexByte(p[start:], '.'); dot > 0 {
		hi = start + dot
	}
	for hi > start && !isDigit(p[hi-1]) {
		hi--
	}
	if hi == start {
		return 0, 0, false
	}
	lo = hi
	for lo > start && isDigit(p[lo-1]) {
		lo--
	}
	return lo, hi, true
}

// Template returns p with the digits Digits finds replaced by '#':
// /live/ch1/seg-0-1234.m4s is /live/ch1/seg-0-#.m4s, /vod/t/720p/000042.ts
// is /vod/t/720p/#.ts. The segments of one rendition share it, those of
// two renditions do not (their rendition id sits elsewhere in the path).
// A path without digits is its own template.
func Template(p string) string {
	lo, hi, ok := Digits(p)
	if !ok {
		return p
	}
	return p[:lo] + "#" + p[hi:]
}

// Key hashes p's template with seed, without building it; ok is false
// when p has no digits in its name, or is a manifest (.m3u8, .mpd).
// num is the digits' value modulo 2^32.
func Key(seed maphash.Seed, p string) (key uint64, num uint32, ok bool) {
	lo, hi, ok := Digits(p)
	if !ok || IsManifest(p) {
		return 0, 0, false
	}
	var h maphash.Hash
	h.SetSeed(seed)
	h.WriteString(p[:lo])
	h.WriteByte('#')
	h.WriteString(p[hi:])
	for i := lo; i < hi; i++ {
		num = num*10 + uint32(p[i]-'0')
	}
	return h.Sum64(), num, true
}

// IsManifest reports whether p names an HLS playlist or a DASH manifest.
func IsManifest(p string) bool {
	return strings.HasSuffix(p, ".m3u8") || strings.HasSuffix(p, ".mpd")
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
