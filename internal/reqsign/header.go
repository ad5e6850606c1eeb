package reqsign

import (
	"errors"
	"strings"
)

// Signature is a parsed X-Smd-Signature header.
type Signature struct {
	// KeyID names the secret.
	KeyID string
	// Sig is the hex HMAC-SHA256, 64 lower-case hex digits.
	Sig string
}

// ErrMalformed is returned for a signature header that does not parse.
var ErrMalformed = errors.New("malformed signature header")

// ParseSignature reads "keyId=<id>,sig=<64 hex digits>": both parameters
// exactly once, in any order, optional spaces after the comma, nothing
// else.
func ParseSignature(s string) (Signature, error) {
	var out Signature
	if len(s) > 256 {
		return out, ErrMalformed
	}
	haveKey, haveSig := false, false
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimLeft(part, " ")
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			return Signature{}, ErrMalformed
		}
		switch name {
		case "keyId":
			if haveKey || checkKeyID(value) != nil {
				return Signature{}, ErrMalformed
			}
			out.KeyID, haveKey = value, true
		case "sig":
			if haveSig || !isHex64(value) {
				return Signature{}, ErrMalformed
			}
			out.Sig, haveSig = value, true
		default:
			return Signature{}, ErrMalformed
		}
	}
	if !haveKey || !haveSig {
		return Signature{}, ErrMalformed
	}
	return out, nil
}

// isHex64 reports whether s is 64 lower-case hex digits (a SHA-256).
func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
