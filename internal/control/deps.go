package control

import (
	"context"
	"errors"
	"time"

	"github.com/smd-media/smd/internal/asset"
	"github.com/smd-media/smd/token"
)

// Assets is the asset catalog (implemented by *asset.Store). Errors the
// API branches on: asset.ErrNotFound (404), asset.ErrExists (409),
// asset.ErrConflict (409) and *asset.FieldError (400); anything else is a
// 500.
type Assets interface {
	Get(ctx context.Context, id string) (*asset.Asset, error)
	Create(ctx context.Context, a *asset.Asset) (*asset.Asset, error)
	Update(ctx context.Context, a *asset.Asset) (*asset.Asset, error)
	Put(ctx context.Context, a *asset.Asset) (*asset.Asset, error)
	Delete(ctx context.Context, id string) error
	List(ctx context.Context, after string, limit int) ([]*asset.Asset, string, error)
}

// Revocation is one revoked session. Its fields are those of
// revocation.Entry, in the same order, so that an adapter converts with
// control.Revocation(entry).
type Revocation struct {
	// SessionID is the revoked session.
	SessionID string `json:"session_id"`
	// Type is "manual" (an operator) or "auto" (the detector).
	Type string `json:"type"`
	// Reason is free text.
	Reason string `json:"reason,omitempty"`
	// Score is the detector's score, for "auto".
	Score float64 `json:"score,omitempty"`
	// By names who revoked: an API key id, or "detector".
	By string `json:"by,omitempty"`
	// RevokedAt is when the revocation was written.
	RevokedAt time.Time `json:"revoked_at"`
	// ExpiresAt is when it ends; zero: until unrevoked.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Features is the detector's breakdown of Score, for "auto".
	Features map[string]float64 `json:"features,omitempty"`
	// Explanation says why in words, for "auto": one sentence per
	// feature over its threshold, with its numbers, and the score.
	Explanation []string `json:"explanation,omitempty"`
	// Evidence is what the detector's features counted, for "auto".
	Evidence *Evidence `json:"evidence,omitempty"`
}

// Evidence is what a detector's decision counted (revocation.Evidence).
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

// Sessions holds revocations (revocation.Store through a trivial
// adapter). The API validates ids, reasons, TTLs and paging before it
// calls; errors from these methods are answered 500.
type Sessions interface {
	// Revoke writes (or replaces) e, Type "manual", RevokedAt set by the
	// API; ttl 0 revokes until Unrevoke. It returns the bucket revision.
	Revoke(ctx context.Context, e Revocation, ttl time.Duration) (uint64, error)
	// Unrevoke removes the revocation of id and reports whether there
	// was one.
	Unrevoke(ctx context.Context, id string) (bool, error)
	// Get returns the revocation of id, if any (none once expired).
	Get(ctx context.Context, id string) (Revocation, bool, error)
	// List returns up to limit (1 to the API's max page size)
	// revocations with ids greater than after, in id order, and the
	// cursor of the next page ("" on the last).
	List(ctx context.Context, after string, limit int) ([]Revocation, string, error)
}

// Allowance is one session the detector leaves alone. Its fields are
// those of revocation.Allowance, in the same order, so that an adapter
// converts with control.Allowance(a).
type Allowance struct {
	// SessionID is the session.
	SessionID string `json:"session_id"`
	// Kind is "allow" (an operator's allowlisting) or "hold_off" (written
	// when an operator lifts an automatic revocation).
	Kind string `json:"kind"`
	// Reason is free text.
	Reason string `json:"reason,omitempty"`
	// By names who wrote it: an API key id.
	By string `json:"by,omitempty"`
	// AllowedAt is when it was written.
	AllowedAt time.Time `json:"allowed_at"`
	// ExpiresAt is when it ends; zero: until removed.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Allowlist holds the sessions the detector never revokes
// (revocation.AllowStore through a trivial adapter). The API validates
// ids, reasons, TTLs and paging before it calls; errors are answered 503.
type Allowlist interface {
	// Allow writes (or replaces) a, Kind "allow", AllowedAt set by the
	// API; ttl 0 lasts until Disallow. It returns the bucket revision.
	Allow(ctx context.Context, a Allowance, ttl time.Duration) (uint64, error)
	// Disallow removes the allowance of id (of either kind) and reports
	// whether there was one.
	Disallow(ctx context.Context, id string) (bool, error)
	// Get returns the allowance of id, if any (none once expired).
	Get(ctx context.Context, id string) (Allowance, bool, error)
	// List returns a page of allowances in id order, as Sessions.List.
	List(ctx context.Context, after string, limit int) ([]Allowance, string, error)
	// HoldOff holds the detector off id for ttl after an operator (by)
	// lifted its automatic revocation, keeping an allowance that lasts
	// as long; it reports whether it wrote.
	HoldOff(ctx context.Context, id, by string, ttl time.Duration) (bool, error)
}

// Key states.
const (
	KeyNext      = "next"
	KeyPrimary   = "primary"
	KeySecondary = "secondary"
	KeyRetired   = "retired"
)

// KeyInfo describes one signing key.
type KeyInfo struct {
	// ID is the key id ("kid").
	ID string `json:"id"`
	// State is next, primary, secondary or retired.
	State string `json:"state"`
	// Alg is the signing algorithm (HS256).
	Alg string `json:"alg,omitempty"`
	// Source is "generated" (by the rotation) or "imported".
	Source string `json:"source,omitempty"`
	// CreatedAt is when the key was made (zero if unknown, e.g. imported).
	CreatedAt time.Time `json:"created_at,omitzero"`
	// PromotedAt is when it became primary; DemotedAt when it became a
	// secondary; RetireAfter when a secondary is retired; RetiredAt when
	// it was (its secret erased).
	PromotedAt  time.Time `json:"promoted_at,omitzero"`
	DemotedAt   time.Time `json:"demoted_at,omitzero"`
	RetireAfter time.Time `json:"retire_after,omitzero"`
	RetiredAt   time.Time `json:"retired_at,omitzero"`
	// NextRotation is, for the primary key, when the rotation replaces it
	// (promotion + control.rotation_interval).
	NextRotation time.Time `json:"next_rotation,omitzero"`
	// Secret is the key material, only when asked for.
	Secret string `json:"secret,omitempty"`
}

// RotationStatus says where the key rotation is.
type RotationStatus struct {
	// Phase is the rotation's state, e.g. "idle", "requested",
	// "publishing", "waiting_for_edges", "promoted".
	Phase string `json:"phase"`
	// NextKID is the id of the key being rolled out, if any.
	NextKID string `json:"next_kid,omitempty"`
	// RequestedAt is when the current rotation was asked for.
	RequestedAt time.Time `json:"requested_at,omitzero"`
}

// ErrInvalidInput marks a caller's mistake in Keys.Import: an error
// wrapping it is answered 400 with its message (which must therefore hold
// no secret).
var ErrInvalidInput = errors.New("invalid input")

// Keys is the signing key ring.
type Keys interface {
	// List returns the keys, with their secrets only when withSecrets.
	List(ctx context.Context, withSecrets bool) ([]KeyInfo, error)
	// Rotate asks for a rotation now and returns its status; asking while
	// one is under way returns that one's status.
	Rotate(ctx context.Context) (RotationStatus, error)
	// Import replaces the ring with the keys of an SMDE Secrets Manager
	// export ({"primary": {"uuid", "value"}, "secondary": ...}) or a key
	// map ({"<kid>": "<secret>"}), already checked with keyring.Parse,
	// and returns the ring without secrets.
	Import(ctx context.Context, export []byte) ([]KeyInfo, error)
	// Signing returns the primary key, which signs new tokens.
	Signing(ctx context.Context) (*token.Key, error)
}
