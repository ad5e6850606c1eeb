package revocation

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"
)

// Kinds of allowance.
const (
	// KindAllow is an operator's allowlisting: the detector never revokes
	// the session while it lasts.
	KindAllow = "allow"
	// KindHoldOff is written when an operator lifts an automatic
	// revocation: the detector leaves the session alone for a while, so
	// that the lifted revocation is not written again at once from the
	// same evidence.
	KindHoldOff = "hold_off"
)

// Allowance is one session the detector leaves alone, as stored in
// smd_allowed (JSON value, key = session id). Allowances bind only the
// detector: an operator may still revoke the session.
type Allowance struct {
	// SessionID is the session.
	SessionID string `json:"session_id"`
	// Kind is KindAllow or KindHoldOff.
	Kind string `json:"kind"`
	// Reason is free text for operators.
	Reason string `json:"reason,omitempty"`
	// By names who wrote it: an API key id.
	By string `json:"by,omitempty"`
	// AllowedAt is when it was written.
	AllowedAt time.Time `json:"allowed_at"`
	// ExpiresAt is when it ends; zero: until removed.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

func (a *Allowance) validate() error {
	if !ValidSessionID(a.SessionID) {
		return ErrInvalidSessionID
	}
	if a.Kind != KindAllow && a.Kind != KindHoldOff {
		return &FieldError{"kind", fmt.Sprintf("must be %q or %q", KindAllow, KindHoldOff)}
	}
	if len(a.Reason) > maxReason || !utf8.ValidString(a.Reason) {
		return &FieldError{"reason", fmt.Sprintf("must be valid UTF-8 of at most %d bytes", maxReason)}
	}
	if len(a.By) > maxBy || !utf8.ValidString(a.By) {
		return &FieldError{"by", fmt.Sprintf("must be valid UTF-8 of at most %d bytes", maxBy)}
	}
	return nil
}

// AllowStore reads and writes allowances in the smd_allowed bucket, with a
// TTL per session as Store does for revocations. It is safe for
// concurrent use, and implements the detector's allowlist (Allowed).
type AllowStore struct {
	ttlBucket
	// Now is the clock of AllowedAt and ExpiresAt; time.Now by default.
	Now func() time.Time
}

// NewAllowStore returns a store on the bucket kv (natsstore.Store.Allowed),
// writing through js. The bucket must have per-key TTL enabled
// (natsstore.Open does that).
func NewAllowStore(js jetstream.JetStream, kv jetstream.KeyValue) *AllowStore {
	return &AllowStore{ttlBucket: newTTLBucket(js, kv), Now: time.Now}
}

// Allow writes a under a.SessionID, replacing any allowance of the
// session, and returns the bucket revision. ttl 0: until Disallow;
// otherwise rounded up to whole seconds. An empty Kind means KindAllow;
// AllowedAt is set to now when zero; ExpiresAt always from ttl.
func (s *AllowStore) Allow(ctx context.Context, a Allowance, ttl time.Duration) (uint64, error) {
	if a.Kind == "" {
		a.Kind = KindAllow
	}
	if err := a.validate(); err != nil {
		return 0, err
	}
	var err error
	if a.AllowedAt, a.ExpiresAt, ttl, err = stamp(a.AllowedAt, s.Now, ttl); err != nil {
		return 0, err
	}
	b, err := json.Marshal(&a)
	if err != nil {
		return 0, fmt.Errorf("revocation: encode allowance: %w", err)
	}
	rev, err := s.put(ctx, a.SessionID, b, ttl)
	if err != nil {
		return 0, fmt.Errorf("revocation: allow %s: %w", a.SessionID, err)
	}
	return rev, nil
}

// HoldOff holds the detector off id for ttl (> 0), after an operator (by)
// lifted its automatic revocation, and reports whether it wrote: an
// allowance of the session that lasts at least as long is kept as it is.
func (s *AllowStore) HoldOff(ctx context.Context, id, by string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, &FieldError{"ttl", "must be positive"}
	}
	if !ValidSessionID(id) {
		return false, ErrInvalidSessionID
	}
	cur, ok, err := s.Get(ctx, id)
	if err != nil {
		return false, err
	}
	now := s.Now()
	if ok && (cur.ExpiresAt.IsZero() || !cur.ExpiresAt.Before(now.Add(roundTTL(ttl)))) {
		return false, nil
	}
	a := Allowance{SessionID: id, Kind: KindHoldOff, Reason: "automatic revocation lifted", By: by, AllowedAt: now}
	if _, err := s.Allow(ctx, a, ttl); err != nil {
		return false, err
	}
	return true, nil
}

// Disallow removes the allowance of id (of either kind) and reports
// whether there was one.
func (s *AllowStore) Disallow(ctx context.Context, id string) (bool, error) {
	if !ValidSessionID(id) {
		return false, ErrInvalidSessionID
	}
	ok, err := s.purge(ctx, id)
	if err != nil {
		return false, fmt.Errorf("revocation: disallow %s: %w", id, err)
	}
	return ok, nil
}

// Get returns the allowance of id; false when there is none or it has
// expired.
func (s *AllowStore) Get(ctx context.Context, id string) (Allowance, bool, error) {
	if !ValidSessionID(id) {
		return Allowance{}, false, ErrInvalidSessionID
	}
	v, ok, err := s.get(ctx, id)
	if err != nil {
		return Allowance{}, false, fmt.Errorf("revocation: get allowance %s: %w", id, err)
	}
	if !ok {
		return Allowance{}, false, nil
	}
	var a Allowance
	if err := json.Unmarshal(v, &a); err != nil {
		return Allowance{}, false, fmt.Errorf("revocation: allowance %s: %w", id, err)
	}
	a.SessionID = id
	if !a.ExpiresAt.IsZero() && !s.Now().Before(a.ExpiresAt) {
		return Allowance{}, false, nil
	}
	return a, true, nil
}

// Allowed reports whether the detector must leave id alone.
func (s *AllowStore) Allowed(ctx context.Context, id string) (bool, error) {
	_, ok, err := s.Get(ctx, id)
	return ok, err
}

// List returns up to limit allowances with ids greater than after, in id
// order, and the cursor of the next page, as Store.List does.
func (s *AllowStore) List(ctx context.Context, after string, limit int) ([]Allowance, string, error) {
	switch {
	case limit == 0:
		limit = DefaultListLimit
	case limit < 0 || limit > MaxListLimit:
		return nil, "", &FieldError{"limit", fmt.Sprintf("must be 1-%d", MaxListLimit)}
	}
	if after != "" && !ValidSessionID(after) {
		return nil, "", &FieldError{"after", "must be a session id (1-200 letters, digits or '_')"}
	}
	ids, next, err := s.page(ctx, after, limit)
	if err != nil {
		return nil, "", fmt.Errorf("revocation: %w", err)
	}
	out := make([]Allowance, 0, len(ids))
	for _, id := range ids {
		a, ok, err := s.Get(ctx, id)
		if err != nil {
			return nil, "", err
		}
		if ok {
			out = append(out, a)
		}
	}
	return out, next, nil
}
