package revocation

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/kvread"
)

// ttlBucket is a KV bucket whose entries each have their own TTL (the
// bucket needs LimitMarkerTTL, which natsstore.Open sets), shared by
// Store and AllowStore.
//
// Writes go through JetStream directly rather than the KV API because a
// per-key TTL exists only on KV Create: a write publishes its value on the
// key's subject with a Nats-TTL header (none for "no expiry"). The buckets
// keep one message per key (History 1), so that single publish replaces
// any earlier entry and its TTL at once, without a moment where the key
// reads as absent (which delete-then-create would have).
type ttlBucket struct {
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	pre string

	mu        sync.Mutex
	markerTTL time.Duration // of purge markers; read from the bucket once
	haveTTL   bool
}

func newTTLBucket(js jetstream.JetStream, kv jetstream.KeyValue) ttlBucket {
	return ttlBucket{js: js, kv: kv, pre: "$KV." + kv.Bucket() + "."}
}

// roundTTL rounds a positive ttl up to whole seconds, at least 1s:
// JetStream's TTL unit.
func roundTTL(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return 0
	}
	return max(time.Second, (ttl+time.Second-1)/time.Second*time.Second)
}

// put writes v under key with ttl (0: no expiry; otherwise already
// rounded by roundTTL) and returns the revision.
func (b *ttlBucket) put(ctx context.Context, key string, v []byte, ttl time.Duration) (uint64, error) {
	msg := &nats.Msg{Subject: b.pre + key, Data: v, Header: nats.Header{}}
	var opts []jetstream.PublishOpt
	if ttl > 0 {
		opts = append(opts, jetstream.WithMsgTTL(ttl))
	}
	ack, err := b.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// purge removes key and reports whether it held a value. The bucket keeps
// a purge marker (for watchers) that expires after its LimitMarkerTTL.
func (b *ttlBucket) purge(ctx context.Context, key string) (bool, error) {
	ttl, err := b.purgeTTL(ctx)
	if err != nil {
		return false, err
	}
	// Purge exactly the revision read, so that "existed" is true to what
	// was removed; a value written in between is read again.
	for {
		cur, err := kvread.Get(ctx, b.js.Conn(), b.kv.Bucket(), key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		opts := []jetstream.KVDeleteOpt{jetstream.LastRevision(cur.Revision)}
		if ttl > 0 {
			opts = append(opts, jetstream.PurgeTTL(ttl))
		}
		err = b.kv.Purge(ctx, key, opts...)
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue
		}
		if err != nil {
			return false, err
		}
		return true, nil
	}
}

// purgeTTL returns the bucket's marker TTL, read once.
func (b *ttlBucket) purgeTTL(ctx context.Context) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.haveTTL {
		return b.markerTTL, nil
	}
	st, err := b.kv.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("bucket status: %w", err)
	}
	b.markerTTL, b.haveTTL = st.LimitMarkerTTL(), true
	return b.markerTTL, nil
}

// get returns the value of key; false when there is none. It reads from
// the bucket's leader (kvread), so that it sees every write acknowledged
// before it, on a cluster too.
func (b *ttlBucket) get(ctx context.Context, key string) ([]byte, bool, error) {
	e, err := kvread.Get(ctx, b.js.Conn(), b.kv.Bucket(), key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return e.Value, true, nil
}

// page returns up to limit (already checked) keys greater than after, in
// order, and the cursor of the next page ("" on the last). It reads every
// key of the bucket (headers only).
func (b *ttlBucket) page(ctx context.Context, after string, limit int) ([]string, string, error) {
	// Keep the limit+1 smallest keys above the cursor in a max-heap.
	h := &maxHeap{}
	err := b.keys(ctx, func(k string) {
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
	return ids, next, nil
}

// keys calls fn with every key of the bucket.
func (b *ttlBucket) keys(ctx context.Context, fn func(string)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l, err := b.kv.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	defer l.Stop()
	for k := range l.Keys() {
		fn(k)
	}
	// The lister closes its channel when done or when ctx ends.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("list keys: %w", err)
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

// stamp checks ttl and returns the write's time (at, or now when zero,
// in UTC without a monotonic reading), its expiry (zero for ttl 0) and
// ttl rounded as the bucket stores it.
func stamp(at time.Time, now func() time.Time, ttl time.Duration) (time.Time, time.Time, time.Duration, error) {
	if ttl < 0 {
		return time.Time{}, time.Time{}, 0, &FieldError{"ttl", "must not be negative"}
	}
	ttl = roundTTL(ttl)
	if at.IsZero() {
		at = now()
	}
	at = at.UTC().Round(0)
	var expires time.Time
	if ttl > 0 {
		expires = at.Add(ttl)
	}
	return at, expires, ttl, nil
}
