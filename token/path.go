package token

import (
	"errors"
	"strings"
)

// Errors of NormalizePath.
var (
	ErrPathSyntax = errors.New("invalid path syntax")
	ErrPathEscape = errors.New("path escapes the root")
)

// NormalizePath turns the escaped path of a request into the form that is
// matched against a token's path prefixes and forwarded to the origin.
// Matching and forwarding the same string means the origin can never be
// asked for anything the prefix check did not see.
//
//   - The path must start with '/'. Bytes outside printable ASCII, '\', '#'
//     and '?' are refused (a query must be split off before).
//   - Percent-encoded unreserved characters (RFC 3986 2.3: letters, digits,
//     '-', '.', '_', '~') are decoded, so "%2e%2e" is seen as "..". An
//     encoded '/', '\' or control character is refused, because origins
//     disagree on what it means. Other escapes are kept, in upper case.
//   - "." and ".." segments are resolved (RFC 3986 5.2.4); a ".." that would
//     climb above the root is refused. A segment that is "." or ".." followed
//     by ';' is refused too (servlet containers treat "..;" as "..").
//
// A path that needs no change is returned as is, without allocating.
func NormalizePath(p string) (string, error) {
	if len(p) == 0 || p[0] != '/' {
		return "", ErrPathSyntax
	}
	slow := false
	segStart := 1
	for i := 1; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '%':
			// An escape that stays as it is (upper-case hex of a
			// character that is neither decoded nor refused) keeps the
			// fast path.
			if i+2 >= len(p) || !upperHexDigit(p[i+1]) || !upperHexDigit(p[i+2]) {
				slow = true
				break
			}
			v := hexVal(p[i+1])<<4 | hexVal(p[i+2])
			if isUnreserved(v) || v < 0x20 || v == 0x7f || v == '/' || v == '\\' {
				slow = true
			}
			i += 2
		case c == '/':
			if isDotSegment(p[segStart:i]) {
				slow = true
			}
			segStart = i + 1
		case c <= ' ' || c >= 0x7f || c == '\\' || c == '#' || c == '?':
			return "", ErrPathSyntax
		}
	}
	if isDotSegment(p[segStart:]) {
		slow = true
	}
	if !slow {
		return p, nil
	}
	dec, err := decodeUnreserved(p)
	if err != nil {
		return "", err
	}
	return removeDotSegments(dec)
}

// isDotSegment reports whether seg is ".", "..", or one of them followed by
// a ';' parameter.
func isDotSegment(seg string) bool {
	if i := strings.IndexByte(seg, ';'); i >= 0 {
		seg = seg[:i]
	}
	return seg == "." || seg == ".."
}

// decodeUnreserved decodes percent-escapes of unreserved characters and
// upper-cases the hex digits of the others.
func decodeUnreserved(p string) (string, error) {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(p) {
			return "", ErrPathSyntax
		}
		hi, ok1 := unhex(p[i+1])
		lo, ok2 := unhex(p[i+2])
		if !ok1 || !ok2 {
			return "", ErrPathSyntax
		}
		v := hi<<4 | lo
		switch {
		case isUnreserved(v):
			b.WriteByte(v)
		case v < 0x20 || v == 0x7f || v == '/' || v == '\\':
			return "", ErrPathSyntax
		default:
			const upper = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(upper[v>>4])
			b.WriteByte(upper[v&15])
		}
		i += 2
	}
	return b.String(), nil
}

// removeDotSegments resolves "." and ".." in a path that starts with '/'.
func removeDotSegments(p string) (string, error) {
	segs := strings.Split(p[1:], "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		name := s
		if j := strings.IndexByte(s, ';'); j >= 0 {
			if name = s[:j]; name == "." || name == ".." {
				return "", ErrPathSyntax
			}
		}
		switch name {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) == 0 {
				return "", ErrPathEscape
			}
			out = out[:len(out)-1]
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/"), nil
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func upperHexDigit(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// hexVal is the value of an upper-case hex digit.
func hexVal(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'A' + 10
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
