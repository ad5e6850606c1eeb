// Package strictjson decodes JSON request bodies the strict way the API
// promises: valid UTF-8, exactly one value, no member name twice in an
// object at any depth (two parsers must never read one body two ways),
// no unknown members, a bounded depth; and errors in its own words that
// name the field (never Go's types or io's "unexpected EOF"). It imports
// nothing of smd.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxDepth bounds the nesting of objects and arrays.
const MaxDepth = 32

// Error is a body refused: the field (a dotted path such as
// "token_policy.paths[2]"; "" for the body as a whole) and the problem.
type Error struct {
	Field   string
	Problem string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

func fail(field, format string, a ...any) *Error {
	return &Error{Field: field, Problem: fmt.Sprintf(format, a...)}
}

// Check verifies what encoding/json does not: valid UTF-8, one value and
// nothing after it but white space, no duplicate member names, at most
// MaxDepth levels. The value must be an object.
func Check(b []byte) error { return check(b, true) }

// CheckValue is Check for a value of any type.
func CheckValue(b []byte) error { return check(b, false) }

func check(b []byte, object bool) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return fail("", "the body is empty; a JSON object is required")
	}
	if !utf8.Valid(b) {
		return fail("", "the body is not valid UTF-8")
	}
	if off := loneSurrogate(b); off >= 0 {
		return fail("", "a string holds a lone UTF-16 surrogate escape (at byte %d), which is no character", off)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	type level struct {
		object bool
		keys   map[string]struct{}
		key    string // the member being read, in an object
		index  int    // the element being read, in an array
		want   bool   // an object expects a name next
	}
	var stack []*level
	path := func() string {
		var sb strings.Builder
		for _, l := range stack {
			switch {
			case l.object && l.key != "":
				if sb.Len() > 0 {
					sb.WriteByte('.')
				}
				sb.WriteString(l.key)
			case !l.object:
				sb.WriteString("[" + strconv.Itoa(l.index) + "]")
			}
		}
		return sb.String()
	}
	// next moves the enclosing level past a complete value.
	next := func() {
		if len(stack) == 0 {
			return
		}
		if l := stack[len(stack)-1]; l.object {
			l.want = true
		} else {
			l.index++
		}
	}
walk:
	for first := true; ; first = false {
		tok, err := d.Token()
		if err != nil {
			return syntaxError(err, d.InputOffset(), path())
		}
		if first {
			if delim, ok := tok.(json.Delim); object && (!ok || delim != '{') {
				return fail("", "the body must be a JSON object")
			} else if !ok {
				break walk // a lone scalar
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) == MaxDepth {
					return fail("", "nested deeper than %d levels (at byte %d)", MaxDepth, d.InputOffset())
				}
				stack = append(stack, &level{object: t == '{', want: t == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					break walk
				}
				next()
			}
			continue
		case string:
			if l := stack[len(stack)-1]; l.object && l.want {
				if l.keys == nil {
					l.keys = make(map[string]struct{})
				}
				l.key = t
				// encoding/json matches names without regard to case:
				// "reason" and "Reason" are one member given twice.
				folded := strings.ToLower(t)
				if _, dup := l.keys[folded]; dup {
					return fail(path(), "given twice")
				}
				l.keys[folded] = struct{}{}
				l.want = false
				continue
			}
		}
		next()
	}
	if _, err := d.Token(); err != io.EOF {
		return fail("", "data after the JSON object")
	}
	return nil
}

// loneSurrogate returns the offset of the first \uD800-\uDFFF escape in
// a string of b that is not half of a pair (encoding/json turns it into
// U+FFFD silently), -1 if none.
func loneSurrogate(b []byte) int {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	in := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			in = !in
		case in && c == '\\':
			r, ok := hex4(i)
			if !ok {
				i++ // an escaped character: skip it
				continue
			}
			switch {
			case 0xd800 <= r && r <= 0xdbff:
				if lo, ok := hex4(i + 6); ok && 0xdc00 <= lo && lo <= 0xdfff {
					i += 11
					continue
				}
				return i
			case 0xdc00 <= r && r <= 0xdfff:
				return i
			}
			i += 5
		}
	}
	return -1
}

// syntaxError words a decoder's syntax error.
func syntaxError(err error, off int64, field string) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		msg := strings.TrimPrefix(se.Error(), "json: ")
		return fail("", "not valid JSON at byte %d: %s", se.Offset, msg)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fail("", "the JSON ends in the middle of a value (at byte %d)", off)
	}
	return fail(field, "not valid JSON at byte %d", off)
}

// Decode checks b (Check) and reads it into v, a pointer to a struct
// whose fields name every member allowed.
func Decode(b []byte, v any) error {
	if err := Check(b); err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return decodeError(err)
	}
	// encoding/json took "Reason" for "reason": names must be exact.
	var tree any
	dt := json.NewDecoder(bytes.NewReader(b))
	dt.UseNumber()
	if err := dt.Decode(&tree); err != nil {
		return decodeError(err)
	}
	return exactNames(tree, reflect.TypeOf(v), "")
}

var (
	rawType         = reflect.TypeFor[json.RawMessage]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// exactNames checks that every member of the objects in tree is named
// exactly as a field of t (where t is a struct) says.
func exactNames(tree any, t reflect.Type, field string) error {
	for t.Kind() == reflect.Pointer {
		if t.Implements(unmarshalerType) {
			return nil
		}
		t = t.Elem()
	}
	if t == rawType || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil // read by its own parser
	}
	join := func(name string) string {
		if field == "" {
			return name
		}
		return field + "." + name
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := tree.(map[string]any)
		if !ok {
			return nil
		}
		fields := jsonFields(t)
		for name, sub := range obj {
			ft, ok := fields[name]
			if !ok {
				return fail(join(name), "unknown field (names are case-sensitive)")
			}
			if err := exactNames(sub, ft, join(name)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if arr, ok := tree.([]any); ok {
			for i, sub := range arr {
				if err := exactNames(sub, t.Elem(), field+"["+strconv.Itoa(i)+"]"); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		if obj, ok := tree.(map[string]any); ok {
			for name, sub := range obj {
				if err := exactNames(sub, t.Elem(), join(name)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// jsonFields maps the JSON names of struct t (embedded structs' included)
// to their types, as encoding/json names them.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				for k, v := range jsonFields(et) {
					m[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}

// decodeError words encoding/json's errors.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fail("", "the body must be a JSON object")
		}
		return fail(te.Field, "want %s", kind(te.Type))
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return fail(strings.Trim(name, `"`), "unknown field")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		return syntaxError(err, 0, "")
	}
	return fail("", "the body could not be read as the expected object")
}

// kind words a Go type as the JSON a client must send.
func kind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a JSON string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number in range"
	case reflect.Float32, reflect.Float64:
		return "a JSON number"
	case reflect.Slice, reflect.Array:
		return "a JSON array"
	case reflect.Map, reflect.Struct:
		return "a JSON object"
	}
	return "another JSON type"
}

// TextProblem says what is wrong with free text s (a reason, a note) for
// a field that allows at most max bytes, "" when nothing: it must be
// valid UTF-8 without control characters (C0, DEL, C1) or the Unicode
// controls that reorder text on a terminal (bidirectional overrides and
// isolates), which would let stored text rewrite an operator's screen.
func TextProblem(s string, max int) string {
	if len(s) > max {
		return fmt.Sprintf("longer than %d bytes", max)
	}
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	for i, r := range s {
		if Unprintable(r) {
			return fmt.Sprintf("contains a control character (U+%04X at byte %d)", r, i)
		}
	}
	return ""
}

// Unprintable reports whether r is a control character: C0, DEL, C1, or
// a bidirectional control (U+061C, U+200E, U+200F, U+202A to U+202E,
// U+2066 to U+2069).
func Unprintable(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
