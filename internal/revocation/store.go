package revocation

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Paging limits of Store.List.
const (
	// DefaultListLimit is the page size when List is asked for 0.
	DefaultListLimit = 100
	// MaxListLimit is the largest page List returns.
	MaxListLimit = 1000
)

// Store reads and writes revocations in the smd_revoked bucket. It is safe
// for concurrent use.
//
// A revocation is one publish of its value with a Nats-TTL header (none
// for "until unrevoked"; see ttlBucket): it replaces any earlier
// revocation of the session and its TTL at once, without a moment where
// the session reads as not revoked.
type Store struct {
	ttlBucket
	// now is the clock of RevokedAt and ExpiresAt.
	now func() time.Time
}

// NewStore returns a store on the bucket kv (natsstore.Store.Revoked),
// writing through js (natsstore.Store.JS). The bucket must have per-key TTL
// enabled (natsstore.Open does that).
func NewStore(js jetstream.JetStream, kv jetstream.KeyValue) *Store {
	return &Store{ttlBucket: newTTLBucket(js, kv), now: time.Now}
}

// Revoke writes e under e.SessionID and returns the bucket revision of the
// write. ttl 0 revokes until Unrevoke; otherwise the entry expires after
// ttl (rounded up to whole seconds, at least 1s: JetStream's TTL unit).
// Re-revoking a session replaces its entry and restarts its time. An empty
// Type means TypeManual; RevokedAt is set to now when zero; ExpiresAt is
// always set from ttl.
func (s *Store) Revoke(ctx context.Context, e Entry, ttl time.Duration) (uint64, error) {
	if e.Type == "" {
		e.Type = TypeManual
	}
	if err := e.validate(); err != nil {
		return 0, err
	}
	var err error
	if e.RevokedAt, e.ExpiresAt, ttl, err = stamp(e.RevokedAt, s.now, ttl); err != nil {
		return 0, err
	}
	b, err := json.Marshal(&e)
	if err != nil {
		return 0, fmt.Errorf("revocation: encode: %w", err)
	}
	rev, err := s.put(ctx, e.SessionID, b, ttl)
	if err != nil {
		return 0, fmt.Errorf("revocation: revoke %s: %w", e.SessionID, err)
	}
	return rev, nil
}

// Unrevoke removes the revocation of id and reports whether there was one.
// The bucket keeps a purge marker (for the watchers) that expires after
// the bucket's LimitMarkerTTL.
func (s *Store) Unrevoke(ctx context.Context, id string) (bool, error) {
	if !ValidSessionID(id) {
		return false, ErrInvalidSessionID
	}
	ok, err := s.purge(ctx, id)
	if err != nil {
		return false, fmt.Errorf("revocation: unrevoke %s: %w", id, err)
	}
	return ok, nil
}

// Get returns the revocation of id; false when there is none or it has
// expired.
func (s *Store) Get(ctx context.Context, id string) (Entry, bool, error) {
	if !ValidSessionID(id) {
		return Entry{}, false, ErrInvalidSessionID
	}
	v, ok, err := s.get(ctx, id)
	if err != nil {
		return Entry{}, false, fmt.Errorf("revocation: get %s: %w", id, err)
	}
	if !ok {
		return Entry{}, false, nil
	}
	e, err := decodeEntry(id, v)
	if err != nil {
		return Entry{}, false, err
	}
	if !e.ExpiresAt.IsZero() && !s.now().Before(e.ExpiresAt) {
		return Entry{}, false, nil
	}
	return e, true, nil
}

// List returns up to limit revocations with ids greater than after (""
// for the first page), ordered by id, and the cursor of the next page (""
// on the last page). limit 0 means DefaultListLimit; at most MaxListLimit.
// It reads every key of the bucket (headers only), so a page costs in
// proportion to the bucket's size: about 3s at 1,000,000 entries
// (BENCHMARKS.md). Entries that expire or are unrevoked while the page is
// read are left out, so a page may be shorter than limit.
func (s *Store) List(ctx context.Context, after string, limit int) ([]Entry, string, error) {
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
	out := make([]Entry, 0, len(ids))
	for _, id := range ids {
		e, ok, err := s.Get(ctx, id)
		if err != nil {
			return nil, "", err
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, next, nil
}

// Count returns the number of revoked sessions in the bucket. Like List it
// reads every key; an edge's Watcher holds the same number in memory
// (Set().Len()).
func (s *Store) Count(ctx context.Context) (int, error) {
	n := 0
	if err := s.keys(ctx, func(string) { n++ }); err != nil {
		return 0, fmt.Errorf("revocation: %w", err)
	}
	return n, nil
}
