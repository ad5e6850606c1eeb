package revocation

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/smd-media/smd/token/smde"
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
	maxReason = 1024
	maxBy     = 200
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
	// Explanation is, for automatic revocations, why in words: one
	// sentence per feature over its threshold, with its numbers (at most
	// 8 of at most 512 bytes).
	Explanation []string `json:"explanation,omitempty"`
	// Evidence is, for automatic revocations, what the features counted.
	Evidence *Evidence `json:"evidence,omitempty"`
}

// Evidence is what a detector's decision counted: which addresses,
// networks, countries, user agents and renditions, over which time. Each
// list holds at most 64 entries of at most 512 bytes.
type Evidence struct {
	// Addresses are viewer addresses, one per network at most.
	Addresses []string `json:"addresses,omitempty"`
	// Networks are the /24 (IPv4) or /48 (IPv6) prefixes counted as
	// places.
	Networks []string `json:"networks,omitempty"`
	// Countries are ISO 3166 codes.
	Countries []string `json:"countries,omitempty"`
	// ASNs are the network operators of the places ("AS64500"), when the
	// edges know them.
	ASNs []string `json:"asns,omitempty"`
	// UserAgents are the user agents seen.
	UserAgents []string `json:"user_agents,omitempty"`
	// Renditions are the segment path templates of renditions fetched in
	// parallel by one viewer ('#' for the segment number).
	Renditions []string `json:"renditions,omitempty"`
	// From and To bound the requests counted.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
}

// Limits of Explanation and Evidence.
const (
	maxExplanation = 8
	maxEvidence    = 64
	maxLine        = 512
)

// ValidSessionID reports whether id is a session id in SMDE's syntax: 1-200
// letters, digits or '_' (smde.ValidSessionID, the one check of smd).
// Such ids are also valid NATS KV keys.
func ValidSessionID(id string) bool { return smde.ValidSessionID(id) }

// validID is ValidSessionID on bytes, for the snapshot reader (no
// conversion to a string).
func validID(b []byte) bool {
	if len(b) == 0 || len(b) > smde.MaxSessionID {
		return false
	}
	for _, c := range b {
		if !smde.SessionIDByte(c) {
			return false
		}
	}
	return true
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
	if err := validFeatures(e.Features); err != nil {
		return err
	}
	if err := validLines("explanation", e.Explanation, maxExplanation); err != nil {
		return err
	}
	if v := e.Evidence; v != nil {
		for _, l := range []struct {
			name  string
			lines []string
		}{{"addresses", v.Addresses}, {"networks", v.Networks}, {"countries", v.Countries}, {"asns", v.ASNs},
			{"user_agents", v.UserAgents}, {"renditions", v.Renditions}} {
			if err := validLines("evidence."+l.name, l.lines, maxEvidence); err != nil {
				return err
			}
		}
	}
	return nil
}

// validLines checks a list of at most n lines of valid UTF-8.
func validLines(field string, lines []string, n int) error {
	if len(lines) > n {
		return &FieldError{field, fmt.Sprintf("must have at most %d entries", n)}
	}
	for _, l := range lines {
		if len(l) > maxLine || !utf8.ValidString(l) {
			return &FieldError{field, fmt.Sprintf("entries must be valid UTF-8 of at most %d bytes", maxLine)}
		}
	}
	return nil
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
