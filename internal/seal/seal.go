package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a master key in bytes (AES-256).
const KeySize = 32

// prefix starts every sealed value; it names the format's version.
const prefix = "smdseal1."

// idLen is the length of a master key id in hex digits.
const idLen = 16

// ErrTampered is returned by [Key.Open] when a sealed value does not
// authenticate: it was altered, or it belongs to another record (other
// associated data).
var ErrTampered = errors.New("sealed value does not authenticate: altered, or bound to another record")

// ErrMalformed is returned by [Key.Open] for text that is not a sealed value.
var ErrMalformed = errors.New("not a sealed value")

// WrongKeyError is returned by [Key.Open] for a value sealed with another
// master key.
type WrongKeyError struct {
	// Sealed is the id of the master key the value was sealed with.
	Sealed string
	// Have is the id of the master key at hand.
	Have string
}

func (e *WrongKeyError) Error() string {
	return fmt.Sprintf("sealed with master key %s, have %s: every control plane and edge of a deployment needs the same master key", e.Sealed, e.Have)
}

// Key is a master key. It is safe for concurrent use.
type Key struct {
	aead cipher.AEAD
	id   string
}

// NewKey makes a master key from its 32 raw bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("master key is %d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	// The id is an HMAC of a fixed label, not a hash of the key alone, so
	// that it says nothing about the key beyond telling two keys apart.
	m := hmac.New(sha256.New, raw)
	m.Write([]byte("smd master key id"))
	return &Key{aead: aead, id: hex.EncodeToString(m.Sum(nil))[:idLen]}, nil
}

// ParseKey reads a master key written as base64 or hex text (surrounding
// white space is ignored). Errors give the problem, never the text.
func ParseKey(text []byte) (*Key, error) {
	s := strings.TrimSpace(string(text))
	if s == "" {
		return nil, errors.New("master key is empty")
	}
	raw, err := decodeKeyText(s)
	if err != nil {
		return nil, err
	}
	return NewKey(raw)
}

// decodeKeyText decodes 64 hex digits or base64 in any common alphabet.
func decodeKeyText(s string) ([]byte, error) {
	if len(s) == 2*KeySize {
		if raw, err := hex.DecodeString(s); err == nil {
			return raw, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			if len(raw) != KeySize {
				return nil, fmt.Errorf("master key is %d bytes after base64 decoding, want %d (32 random bytes, e.g. openssl rand -base64 32)", len(raw), KeySize)
			}
			return raw, nil
		}
	}
	return nil, fmt.Errorf("master key (%d characters) is neither base64 nor 64 hex digits; want 32 random bytes, e.g. openssl rand -base64 32", len(s))
}

// Generate returns a new random master key and its text form (base64).
func Generate() (*Key, []byte, error) {
	raw := make([]byte, KeySize)
	rand.Read(raw) // never fails (Go 1.24+)
	k, err := NewKey(raw)
	if err != nil {
		return nil, nil, err
	}
	text := base64.StdEncoding.AppendEncode(nil, raw)
	return k, append(text, '\n'), nil
}

// ID returns the master key's id: 16 hex digits that tell keys apart
// without revealing them.
func (k *Key) ID() string { return k.id }

// Seal encrypts plaintext bound to ad (associated data: the id of the
// record it belongs to) and returns the sealed text.
func (k *Key) Seal(plaintext, ad []byte) string {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	rand.Read(nonce) // never fails (Go 1.24+)
	out := k.aead.Seal(nonce, nonce, plaintext, k.fullAD(ad))
	return prefix + k.id + "." + base64.RawURLEncoding.EncodeToString(out)
}

// Open decrypts a value made by Seal with the same associated data. It
// returns a [*WrongKeyError] for a value sealed with another master key,
// [ErrTampered] for one altered or bound to other data, and [ErrMalformed]
// (wrapped) for text that is not a sealed value.
func (k *Key) Open(sealed string, ad []byte) ([]byte, error) {
	id, body, err := split(sealed)
	if err != nil {
		return nil, err
	}
	if id != k.id {
		return nil, &WrongKeyError{Sealed: id, Have: k.id}
	}
	b, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: body is not base64url", ErrMalformed)
	}
	ns := k.aead.NonceSize()
	if len(b) < ns+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrMalformed)
	}
	pt, err := k.aead.Open(nil, b[:ns], b[ns:], k.fullAD(ad))
	if err != nil {
		return nil, ErrTampered
	}
	return pt, nil
}

// SealedKeyID returns the id of the master key a value was sealed with.
func SealedKeyID(sealed string) (string, error) {
	id, _, err := split(sealed)
	return id, err
}

// split parses "smdseal1.<id>.<body>".
func split(sealed string) (id, body string, err error) {
	rest, ok := strings.CutPrefix(sealed, prefix)
	if !ok {
		return "", "", fmt.Errorf("%w: missing the %q prefix", ErrMalformed, prefix)
	}
	id, body, ok = strings.Cut(rest, ".")
	if !ok || len(id) != idLen || !isHex(id) {
		return "", "", fmt.Errorf("%w: bad master key id", ErrMalformed)
	}
	return id, body, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// fullAD binds the format version and the master key id along with the
// caller's data.
func (k *Key) fullAD(ad []byte) []byte {
	out := make([]byte, 0, len(prefix)+len(k.id)+1+len(ad))
	out = append(out, prefix...)
	out = append(out, k.id...)
	out = append(out, 0)
	return append(out, ad...)
}
