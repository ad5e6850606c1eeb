package keyring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode/utf8"

	"github.com/smd-media/smd/token"
)

// MinSecretLen is the shortest secret accepted, in bytes: HMAC-SHA256 keys
// shorter than the hash give less than its strength. SMDE's are 128.
const MinSecretLen = 32

// MaxFileSize bounds a key file.
const MaxFileSize = 1 << 20

// maxShownKID is the longest key id that error messages print. Key ids are
// public (every token carries one), but a longer "id" is more likely a
// secret written in the wrong place.
const maxShownKID = 64

// The SMDE form's entries and their fields.
const (
	entryPrimary   = "primary"
	entrySecondary = "secondary"
	fieldUUID      = "uuid"
	fieldValue     = "value"
)

// Load reads and parses the key file at path.
func Load(path string) (*Ring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("key file %s: larger than %d bytes", path, MaxFileSize)
	}
	r, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return r, nil
}

// Parse reads a key file's contents; see the package documentation for the
// forms and the rules.
func Parse(b []byte) (*Ring, error) {
	switch {
	case len(bytes.TrimSpace(b)) == 0:
		return nil, errors.New("empty file, want a JSON object of keys")
	case bytes.HasPrefix(b, []byte("\xef\xbb\xbf")):
		return nil, errors.New("file starts with a UTF-8 byte order mark; save it without")
	case !utf8.Valid(b):
		return nil, errors.New("not valid UTF-8")
	}
	p := &parser{src: b, d: json.NewDecoder(bytes.NewReader(b)), byID: map[string]*token.Key{}}
	p.d.UseNumber()
	if err := p.file(); err != nil {
		return nil, err
	}
	r := &Ring{format: p.format, keys: p.keys, byID: p.byID, primary: p.primary}
	if r.format == FormatMap && len(r.keys) == 1 {
		r.primary = r.keys[0]
	}
	return r, nil
}

// parser reads a key file with json.Decoder's tokens rather than
// Unmarshal, which silently keeps the last of duplicate keys.
type parser struct {
	src     []byte
	d       *json.Decoder
	format  Format // 0 until the first entry decides
	keys    []*token.Key
	byID    map[string]*token.Key
	primary *token.Key
}

// file reads the top-level object.
func (p *parser) file() error {
	tok, err := p.token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("top level is %s, want a JSON object of keys", kind(tok))
	}
	seen := map[string]bool{}
	for p.d.More() {
		tok, err := p.token()
		if err != nil {
			return err
		}
		name, ok := tok.(string)
		if !ok { // the decoder only yields strings here
			return errors.New("not valid JSON")
		}
		if seen[name] {
			if p.format == FormatSMDE {
				return fmt.Errorf("duplicate entry %s", shownKID(name))
			}
			return fmt.Errorf("duplicate kid %s", shownKID(name))
		}
		seen[name] = true
		val, err := p.token()
		if err != nil {
			return err
		}
		if err := p.entry(name, val); err != nil {
			return err
		}
	}
	if _, err := p.token(); err != nil { // the closing '}'
		return err
	}
	if _, err := p.d.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON object")
	}
	if len(p.keys) == 0 {
		return errors.New("no keys in the file")
	}
	if p.format == FormatSMDE && p.primary == nil {
		return errors.New(`SMDE form without a "primary" entry`)
	}
	return nil
}

// entry handles one top-level member, whose value token is val.
func (p *parser) entry(name string, val json.Token) error {
	smdeName := name == entryPrimary || name == entrySecondary
	switch v := val.(type) {
	case string:
		if p.format == FormatSMDE {
			return fmt.Errorf("mixed formats: %s has a string value but the file is in the SMDE form (%q, %q)",
				shownKID(name), entryPrimary, entrySecondary)
		}
		p.format = FormatMap
		return p.add(name, v, "")
	case json.Delim:
		if v != '{' {
			break
		}
		if !smdeName {
			if p.format == FormatSMDE {
				return fmt.Errorf("unknown entry %s: the SMDE form has only %q and %q", shownKID(name), entryPrimary, entrySecondary)
			}
			return fmt.Errorf("%s: value is an object; a map wants a string secret, the SMDE form only %q and %q",
				shownKID(name), entryPrimary, entrySecondary)
		}
		if p.format == FormatMap {
			return fmt.Errorf("mixed formats: %q is an SMDE entry but the file is a map of kid to secret", name)
		}
		p.format = FormatSMDE
		return p.smdeEntry(name)
	}
	if smdeName && p.format != FormatMap {
		return fmt.Errorf("%s: value is %s, want an object with %q and %q", name, kind(val), fieldUUID, fieldValue)
	}
	return fmt.Errorf("%s: value is %s, want a string secret", shownKID(name), kind(val))
}

// smdeEntry reads {"uuid": ..., "value": ...} after its opening '{'.
func (p *parser) smdeEntry(name string) error {
	fields := map[string]string{}
	for p.d.More() {
		tok, err := p.token()
		if err != nil {
			return err
		}
		f, ok := tok.(string)
		if !ok {
			return errors.New("not valid JSON")
		}
		if f != fieldUUID && f != fieldValue {
			return fmt.Errorf("%s: unknown field %s, want only %q and %q", name, shownKID(f), fieldUUID, fieldValue)
		}
		if _, dup := fields[f]; dup {
			return fmt.Errorf("%s: duplicate field %q", name, f)
		}
		val, err := p.token()
		if err != nil {
			return err
		}
		s, ok := val.(string)
		if !ok {
			return fmt.Errorf("%s: %s is %s, want a string", name, f, kind(val))
		}
		fields[f] = s
	}
	if _, err := p.token(); err != nil { // the closing '}'
		return err
	}
	for _, f := range []string{fieldUUID, fieldValue} {
		if _, ok := fields[f]; !ok {
			return fmt.Errorf("%s: missing field %q", name, f)
		}
	}
	if err := p.add(fields[fieldUUID], fields[fieldValue], name+": "); err != nil {
		return err
	}
	if name == entryPrimary {
		p.primary = p.keys[len(p.keys)-1]
	}
	return nil
}

// add checks and records one key; where ("primary: ") prefixes error
// messages.
func (p *parser) add(kid, secret, where string) error {
	if err := checkKID(kid); err != nil {
		return fmt.Errorf("%s%w", where, err)
	}
	if _, dup := p.byID[kid]; dup {
		return fmt.Errorf("%sduplicate kid %s", where, shownKID(kid))
	}
	switch n := len(secret); {
	case n == 0:
		return fmt.Errorf("%skid %s: secret is empty", where, shownKID(kid))
	case n < MinSecretLen:
		return fmt.Errorf("%skid %s: secret is %d bytes long, at least %d are needed",
			where, shownKID(kid), n, MinSecretLen)
	}
	k := &token.Key{ID: kid, Secret: []byte(secret)}
	p.keys = append(p.keys, k)
	p.byID[kid] = k
	return nil
}

// checkKID accepts non-empty ids of visible ASCII other than '"' and '\'.
func checkKID(kid string) error {
	if kid == "" {
		return errors.New("kid is empty")
	}
	for i := 0; i < len(kid); i++ {
		c := kid[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			shown := fmt.Sprintf("0x%02X", c)
			if c == '"' || c == '\\' {
				shown = fmt.Sprintf("%q", c)
			}
			return fmt.Errorf("kid %s: byte %d (%s) is not allowed; use visible ASCII other than '\"' and '\\'",
				shownKID(kid), i+1, shown)
		}
	}
	return nil
}

// token returns the next JSON token, turning decoder errors into messages
// that give the position but none of the file's text.
func (p *parser) token() (json.Token, error) {
	tok, err := p.d.Token()
	if err == nil {
		return tok, nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset is just past the offending byte.
		line, col := position(p.src, max(se.Offset-1, 0))
		return nil, fmt.Errorf("not valid JSON: syntax error at line %d, column %d", line, col)
	}
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, errors.New("not valid JSON: unexpected end of file")
	}
	return nil, errors.New("not valid JSON")
}

// position turns a byte offset into a 1-based line and column.
func position(src []byte, off int64) (line, col int) {
	if off > int64(len(src)) {
		off = int64(len(src))
	}
	before := src[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = 1 + len(before) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

// kind names a JSON token's type for messages, without its value.
func kind(tok json.Token) string {
	switch v := tok.(type) {
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	}
	return "not a string"
}

// shownKID quotes a key id for a message, or only gives its length when it
// is too long to be a plausible id.
func shownKID(kid string) string {
	if len(kid) > maxShownKID {
		return "(an id of " + strconv.Itoa(len(kid)) + " bytes, not shown)"
	}
	return strconv.QuoteToASCII(kid)
}
