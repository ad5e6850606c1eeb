package revocation

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// Types of revocation.
const (
	// TypeManual is a revocation by an operator through the API or CLI.
	TypeManual = "manual"
	// TypeAuto is a revocation by the detector.
	TypeAuto = "auto"
)

// Limits on an Entry's free-text fields.
const (
	maxSessionID = 200 // SMDE's API limit
	maxReason    = 1024
	maxBy        = 200
	// MaxFeatures bounds the entries of Entry.Features, and
	// maxFeatureName their names.
	MaxFeatures    = 32
	maxFeatureName = 64
)

// Entry is one revoked session as stored in smd_revoked (JSON value, key =
// session id).
type Entry struct {
	// SessionID is the revoked session (the token's session id).
	SessionID string `json:"session_id"`
	// Type is TypeManual or TypeAuto.
	Type string `json:"type"`
	// Reason is free text for operators.
	Reason string `json:"reason,omitempty"`
	// Score is the detector's score for automatic revocations.
	Score float64 `json:"score,omitempty"`
	// By names who revoked: an API key id, or "detector".
	By string `json:"by,omitempty"`
	// RevokedAt is when the revocation was written.
	RevokedAt time.Time `json:"revoked_at"`
	// ExpiresAt is when the revocation ends; zero: until unrevoked.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Features is the detector's breakdown of Score for automatic
	// revocations: the session's features and the score's terms, by name
	// (at most 32, names of 1-64 lowercase letters, digits or '_').
	Features map[string]float64 `json:"features,omitempty"`
}

// ValidSessionID reports whether id is a session id in SMDE's syntax: 1-200
// letters, digits or '_'. Such ids are also valid NATS KV keys.
func ValidSessionID(id string) bool {
	if len(id) == 0 || len(id) > maxSessionID {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			return false
		}
	}
	return true
}

func validID(b []byte) bool {
	if len(b) == 0 || len(b) > maxSessionID {
		return false
	}
	for _, c := range b {
		if !idByte(c) {
			return false
		}
	}
	return true
}

func idByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}

// FieldError is bad input from the caller (a 400 for an API), naming the
// field; other errors of the Store come from NATS.
type FieldError struct {
	// Field is the JSON name of the bad field, or "ttl", "limit", "after".
	Field string
	// Problem says what is wrong.
	Problem string
}

func (e *FieldError) Error() string { return "revocation: " + e.Field + " " + e.Problem }

// ErrInvalidSessionID is returned for an id outside SMDE's syntax.
var ErrInvalidSessionID error = &FieldError{"session_id", "must be 1-200 letters, digits or '_'"}

// validate checks the fields a caller sets; it names the bad field.
func (e *Entry) validate() error {
	if !ValidSessionID(e.SessionID) {
		return ErrInvalidSessionID
	}
	if e.Type != TypeManual && e.Type != TypeAuto {
		return &FieldError{"type", fmt.Sprintf("must be %q or %q", TypeManual, TypeAuto)}
	}
	if len(e.Reason) > maxReason || !utf8.ValidString(e.Reason) {
		return &FieldError{"reason", fmt.Sprintf("must be valid UTF-8 of at most %d bytes", maxReason)}
	}
	if len(e.By) > maxBy || !utf8.ValidString(e.By) {
		return &FieldError{"by", fmt.Sprintf("must be valid UTF-8 of at most %d bytes", maxBy)}
	}
	if math.IsNaN(e.Score) || math.IsInf(e.Score, 0) {
		return &FieldError{"score", "must be a finite number"}
	}
	return validFeatures(e.Features)
}

// validFeatures checks a feature breakdown.
func validFeatures(f map[string]float64) error {
	if len(f) > MaxFeatures {
		return &FieldError{"features", fmt.Sprintf("must have at most %d entries", MaxFeatures)}
	}
	for k, v := range f {
		if !validFeatureName(k) {
			return &FieldError{"features", fmt.Sprintf("name %q must be 1-%d lowercase letters, digits or '_'", k, maxFeatureName)}
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return &FieldError{"features", fmt.Sprintf("%s must be a finite number", k)}
		}
	}
	return nil
}

func validFeatureName(k string) bool {
	if k == "" || len(k) > maxFeatureName {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// decodeEntry reads a stored value; key is the session id it is stored
// under, which wins over the value's own.
func decodeEntry(key string, b []byte) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return Entry{}, fmt.Errorf("revocation: entry %s: %w", key, err)
	}
	e.SessionID = key
	return e, nil
}

// expiryOf reads only expires_at from a stored value (the edge needs
// nothing else).
func expiryOf(b []byte) (time.Time, error) {
	var v struct {
		ExpiresAt time.Time `json:"expires_at"`
	}
	err := json.Unmarshal(b, &v)
	return v.ExpiresAt, err
}
