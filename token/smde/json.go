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

// objectReader walks the members of one object without allocating for
// the keys: key returns each key in turn with the reader placed at its
// value, which the caller must consume before asking for the next key.
// Duplicate keys are refused.
type objectReader struct {
	r    *jsonReader
	n    int
	seen [24][]byte
	more [][]byte // keys past len(seen), rare
}

// beginObject reads '{'.
func (r *jsonReader) beginObject() (objectReader, error) {
	return objectReader{r: r}, r.expect('{')
}

// key returns the next key, or ok == false after the closing '}'.
func (o *objectReader) key() (key []byte, ok bool, err error) {
	r := o.r
	switch c := r.peek(); {
	case c == '}':
		r.i++
		return nil, false, nil
	case o.n > 0 && c == ',':
		r.i++
	case o.n > 0:
		return nil, false, errJSON
	}
	if key, err = r.strBytes(); err != nil {
		return nil, false, err
	}
	seen := o.seen[:min(o.n, len(o.seen))]
	for _, s := range seen {
		if string(s) == string(key) {
			return nil, false, errDuplicateKey
		}
	}
	for _, s := range o.more {
		if string(s) == string(key) {
			return nil, false, errDuplicateKey
		}
	}
	if o.n < len(o.seen) {
		o.seen[o.n] = key
	} else {
		o.more = append(o.more, key)
	}
	o.n++
	if err := r.expect(':'); err != nil {
		return nil, false, err
	}
	return key, true, nil
}

var errDuplicateKey = errors.New("duplicate key in JSON object")

// str reads a string value and returns it decoded.
func (r *jsonReader) str() (string, error) {
	b, err := r.strBytes()
	return string(b), err
}

// strBytes reads a string value and returns it decoded; without escapes,
// the result points into the input.
func (r *jsonReader) strBytes() ([]byte, error) {
	if r.peek() != '"' {
		return nil, errJSON
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
				return nil, errJSON
			}
			return s, nil
		case c == '\\':
			return r.strSlow(start)
		case c < 0x20:
			return nil, errJSON
		}
		r.i++
	}
	return nil, errJSON
}

func (r *jsonReader) strSlow(start int) ([]byte, error) {
	out := append([]byte(nil), r.b[start:r.i]...)
	for r.i < len(r.b) {
		c := r.b[r.i]
		switch {
		case c == '"':
			r.i++
			if !utf8.Valid(out) {
				return nil, errJSON
			}
			return out, nil
		case c < 0x20:
			return nil, errJSON
		case c != '\\':
			out = append(out, c)
			r.i++
			continue
		}
		// An escape.
		if r.i+1 >= len(r.b) {
			return nil, errJSON
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
				return nil, errJSON
			}
			cp := rune(c1)
			if utf16.IsSurrogate(cp) {
				// Must be a high surrogate followed by \u and a low one.
				if r.i+1 >= len(r.b) || r.b[r.i] != '\\' || r.b[r.i+1] != 'u' {
					return nil, errJSON
				}
				r.i += 2
				c2, ok := r.hex4()
				if !ok {
					return nil, errJSON
				}
				cp = utf16.DecodeRune(cp, rune(c2))
				if cp == utf8.RuneError {
					return nil, errJSON
				}
			}
			out = utf8.AppendRune(out, cp)
		default:
			return nil, errJSON
		}
	}
	return nil, errJSON
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
		_, err := r.strBytes()
		return err
	case c == '{':
		o, err := r.beginObject()
		for err == nil {
			var ok bool
			if _, ok, err = o.key(); !ok || err != nil {
				break
			}
			err = r.skip(depth + 1)
		}
		return err
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
