package revocation

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
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
// Writes go through JetStream directly rather than the KV API because a
// per-key TTL exists only on KV Create: a revocation publishes its value
// on the key's subject with a Nats-TTL header (none for "until
// unrevoked"). The bucket keeps one message per key (History 1), so that
// single publish replaces any earlier revocation of the session and its
// TTL at once, without a moment where the session reads as not revoked
// (which delete-then-create would have).
type Store struct {
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	pre string
	// now is the clock of RevokedAt and ExpiresAt.
	now func() time.Time

	mu        sync.Mutex
	markerTTL time.Duration // of unrevoke markers; read from the bucket once
	haveTTL   bool
}

// NewStore returns a store on the bucket kv (natsstore.Store.Revoked),
// writing through js (natsstore.Store.JS). The bucket must have per-key TTL
// enabled (natsstore.Open does that).
func NewStore(js jetstream.JetStream, kv jetstream.KeyValue) *Store {
	return &Store{js: js, kv: kv, pre: "$KV." + kv.Bucket() + ".", now: time.Now}
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
	if ttl < 0 {
		return 0, &FieldError{"ttl", "must not be negative"}
	}
	if ttl > 0 {
		ttl = max(time.Second, (ttl+time.Second-1)/time.Second*time.Second)
	}
	if e.RevokedAt.IsZero() {
		e.RevokedAt = s.now()
	}
	e.RevokedAt = e.RevokedAt.UTC().Round(0)
	e.ExpiresAt = time.Time{}
	if ttl > 0 {
		e.ExpiresAt = e.RevokedAt.Add(ttl)
	}
	b, err := json.Marshal(&e)
	if err != nil {
		return 0, fmt.Errorf("revocation: encode: %w", err)
	}
	msg := &nats.Msg{Subject: s.pre + e.SessionID, Data: b, Header: nats.Header{}}
	var opts []jetstream.PublishOpt
	if ttl > 0 {
		opts = append(opts, jetstream.WithMsgTTL(ttl))
	}
	ack, err := s.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		return 0, fmt.Errorf("revocation: revoke %s: %w", e.SessionID, err)
	}
	return ack.Sequence, nil
}

// Unrevoke removes the revocation of id and reports whether there was one.
// The bucket keeps a purge marker (for the watchers) that expires after
// the bucket's LimitMarkerTTL.
func (s *Store) Unrevoke(ctx context.Context, id string) (bool, error) {
	if !ValidSessionID(id) {
		return false, ErrInvalidSessionID
	}
	ttl, err := s.purgeTTL(ctx)
	if err != nil {
		return false, err
	}
	// Purge exactly the revision read, so that "existed" is true to what
	// was removed; a revocation written in between is read again.
	for {
		cur, err := s.kv.Get(ctx, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("revocation: unrevoke %s: %w", id, err)
		}
		opts := []jetstream.KVDeleteOpt{jetstream.LastRevision(cur.Revision())}
		if ttl > 0 {
			opts = append(opts, jetstream.PurgeTTL(ttl))
		}
		err = s.kv.Purge(ctx, id, opts...)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("revocation: unrevoke %s: %w", id, err)
		}
		return true, nil
	}
}

// purgeTTL returns the bucket's marker TTL, read once.
func (s *Store) purgeTTL(ctx context.Context) (time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.haveTTL {
		return s.markerTTL, nil
	}
	st, err := s.kv.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("revocation: bucket status: %w", err)
	}
	s.markerTTL, s.haveTTL = st.LimitMarkerTTL(), true
	return s.markerTTL, nil
}

// Get returns the revocation of id; false when there is none or it has
// expired.
func (s *Store) Get(ctx context.Context, id string) (Entry, bool, error) {
	if !ValidSessionID(id) {
		return Entry{}, false, ErrInvalidSessionID
	}
	kve, err := s.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("revocation: get %s: %w", id, err)
	}
	e, err := decodeEntry(id, kve.Value())
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
	// Keep the limit+1 smallest ids above the cursor in a max-heap.
	h := &maxHeap{}
	err := s.keys(ctx, func(k string) {
		if k <= after {
			return
		}
		if h.Len() <= limit {
			heap.Push(h, k)
		} else if k < (*h)[0] {
			(*h)[0] = k
			heap.Fix(h, 0)
		}
	})
	if err != nil {
		return nil, "", err
	}
	ids := []string(*h)
	slices.Sort(ids)
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
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
	err := s.keys(ctx, func(string) { n++ })
	return n, err
}

// keys calls fn with every key of the bucket.
func (s *Store) keys(ctx context.Context, fn func(string)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l, err := s.kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("revocation: list keys: %w", err)
	}
	defer l.Stop()
	for k := range l.Keys() {
		fn(k)
	}
	// The lister closes its channel when done or when ctx ends.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("revocation: list keys: %w", err)
	}
	return nil
}

// maxHeap is a max-heap of strings.
type maxHeap []string

func (h maxHeap) Len() int           { return len(h) }
func (h maxHeap) Less(i, j int) bool { return h[i] > h[j] }
func (h maxHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *maxHeap) Push(x any)        { *h = append(*h, x.(string)) }
func (h *maxHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
