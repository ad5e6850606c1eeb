package smde

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds a small strict JSON reader for the JWT header and claims.
// encoding/json is not used on the request path for two reasons, both
// measured or required: it silently keeps the last of duplicate keys and
// accepts invalid UTF-8 (a token that two parsers read differently is a
// classic JWT attack), and its reflection costs about half of the 4 µs budget
// for a first-seen token. The reader accepts exactly RFC 8259 JSON in UTF-8,
// refuses duplicate object keys and lone surrogates, and limits nesting.

var errJSON = errors.New("invalid JSON")

const maxJSONDepth = 32

type jsonReader struct {
	b []byte
	i int
}

func (r *jsonReader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (r *jsonReader) peek() byte {
	r.ws()
	if r.i < len(r.b) {
		return r.b[r.i]
	}
	return 0
}

func (r *jsonReader) expect(c byte) error {
	if r.peek() != c {
		return errJSON
	}
	r.i++
	return nil
}

// end checks that only white space is left.
func (r *jsonReader) end() error {
	if r.peek() != 0 || r.i != len(r.b) {
		return errJSON
	}
	return nil
}

// object reads an object, calling field for each key with the reader placed
// at the value; field must consume the value. Duplicate keys are refused.
func (r *jsonReader) object(field func(key string) error) error {
	if err := r.expect('{'); err != nil {
		return err
	}
	if r.peek() == '}' {
		r.i++
		return nil
	}
	var seen []string
	for {
		if r.peek() != '"' {
			return errJSON
		}
		key, err := r.str()
		if err != nil {
			return err
		}
		for _, s := range seen {
			if s == key {
				return errDuplicateKey
			}
		}
		seen = append(seen, key)
		if err := r.expect(':'); err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return nil
		default:
			return errJSON
		}
	}
}

var errDuplicateKey = errors.New("duplicate key in JSON object")

// str reads a string value and returns it decoded.
func (r *jsonReader) str() (string, error) {
	if r.peek() != '"' {
		return "", errJSON
	}
	r.i++
	start := r.i
	// Fast path: no escapes.
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			s := r.b[start:r.i]
			r.i++
			if !utf8.Valid(s) {
				return "", errJSON
			}
			return string(s), nil
		case c == '\\':
			return r.strSlow(start)
		case c < 0x20:
			return "", errJSON
		}
		r.i++
	}
	return "", errJSON
}

func (r *jsonReader) strSlow(start int) (string, error) {
	out := append([]byte(nil), r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			if !utf8.Valid(out) {
				return "", errJSON
			}
			return string(out), nil
		case c < 0x20:
			return "", errJSON
		case c != '\\':
			out = append(out, c)
			r.i++
			continue
		}
		// An escape.
		if r.i+1 >= len(r.b) {
			return "", errJSON
		}
		e := r.b[r.i+1]
		r.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			c1, ok := r.hex4()
			if !ok {
				return "", errJSON
			}
			cp := rune(c1)
			if utf16.IsSurrogate(cp) {
				// Must be a high surrogate followed by \u and a low one.
				if r.i+1 >= len(r.b) || r.b[r.i] != '\\' || r.b[r.i+1] != 'u' {
					return "", errJSON
				}
				r.i += 2
				c2, ok := r.hex4()
				if !ok {
					return "", errJSON
				}
				cp = utf16.DecodeRune(cp, rune(c2))
				if cp == utf8.RuneError {
					return "", errJSON
				}
			}
			out = utf8.AppendRune(out, cp)
		default:
			return "", errJSON
		}
	}
	return "", errJSON
}

func (r *jsonReader) hex4() (uint16, bool) {
	if r.i+4 > len(r.b) {
		return 0, false
	}
	var v uint16
	for _, c := range r.b[r.i : r.i+4] {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(d)
	}
	r.i += 4
	return v, true
}

func (r *jsonReader) boolean() (bool, error) {
	r.ws()
	switch {
	case r.lit("true"):
		return true, nil
	case r.lit("false"):
		return false, nil
	}
	return false, errJSON
}

func (r *jsonReader) lit(s string) bool {
	if len(r.b)-r.i >= len(s) && string(r.b[r.i:r.i+len(s)]) == s {
		r.i += len(s)
		return true
	}
	return false
}

// maxInt bounds integer claims; times up to the year 33658 fit.
const maxInt = 1e12

// integer reads a JSON number that is a whole number within ±maxInt.
// Fractions and exponents are refused: JWT libraries write times as
// integers, and accepting 1e3 or 1.0 would only widen what parses.
func (r *jsonReader) integer() (int64, error) {
	r.ws()
	neg := false
	if r.i < len(r.b) && r.b[r.i] == '-' {
		neg = true
		r.i++
	}
	start := r.i
	var v int64
	for r.i < len(r.b) && '0' <= r.b[r.i] && r.b[r.i] <= '9' {
		v = v*10 + int64(r.b[r.i]-'0')
		if v > maxInt {
			return 0, errJSON
		}
		r.i++
	}
	n := r.i - start
	if n == 0 || (n > 1 && r.b[start] == '0') {
		return 0, errJSON
	}
	if r.i < len(r.b) {
		switch r.b[r.i] {
		case '.', 'e', 'E':
			return 0, errJSON
		}
	}
	if neg {
		v = -v
	}
	return v, nil
}

// strings reads an array of strings.
func (r *jsonReader) strings() ([]string, error) {
	if err := r.expect('['); err != nil {
		return nil, err
	}
	out := []string{}
	if r.peek() == ']' {
		r.i++
		return out, nil
	}
	for {
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return out, nil
		default:
			return nil, errJSON
		}
	}
}

// skip reads and discards any JSON value.
func (r *jsonReader) skip(depth int) error {
	if depth > maxJSONDepth {
		return errJSON
	}
	switch c := r.peek(); {
	case c == '"':
		_, err := r.str()
		return err
	case c == '{':
		return r.object(func(string) error { return r.skip(depth + 1) })
	case c == '[':
		r.i++
		if r.peek() == ']' {
			r.i++
			return nil
		}
		for {
			if err := r.skip(depth + 1); err != nil {
				return err
			}
			switch r.peek() {
			case ',':
				r.i++
			case ']':
				r.i++
				return nil
			default:
				return errJSON
			}
		}
	case c == 't' || c == 'f':
		_, err := r.boolean()
		return err
	case c == 'n':
		if r.lit("null") {
			return nil
		}
		return errJSON
	case c == '-' || '0' <= c && c <= '9':
		return r.number()
	}
	return errJSON
}

// number reads any RFC 8259 number.
func (r *jsonReader) number() error {
	if r.b[r.i] == '-' {
		r.i++
	}
	digits := func() int {
		n := 0
		for r.i < len(r.b) && '0' <= r.b[r.i] && r.b[r.i] <= '9' {
			r.i++
			n++
		}
		return n
	}
	start := r.i
	n := digits()
	if n == 0 || (n > 1 && r.b[start] == '0') {
		return errJSON
	}
	if r.i < len(r.b) && r.b[r.i] == '.' {
		r.i++
		if digits() == 0 {
			return errJSON
		}
	}
	if r.i < len(r.b) && (r.b[r.i] == 'e' || r.b[r.i] == 'E') {
		r.i++
		if r.i < len(r.b) && (r.b[r.i] == '+' || r.b[r.i] == '-') {
			r.i++
		}
		if digits() == 0 {
			return errJSON
		}
	}
	return nil
}
