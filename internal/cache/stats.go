package cache

import "sync/atomic"

// Stats are a Cache's counters since New. Hits + Misses + Coalesced is the
// number of GET and HEAD requests answered (less those refused after
// Close).
type Stats struct {
	// Hits are requests answered from a fresh stored object.
	Hits int64
	// Misses are requests that started an origin fetch.
	Misses int64
	// Coalesced are requests that joined another request's origin fetch.
	Coalesced int64
	// StaleServed are requests answered with an expired object because its
	// refresh failed (counted also as Misses or Coalesced).
	StaleServed int64
	// Passthroughs are requests answered from an origin response that was
	// not stored: uncacheable, or larger than MaxObjectBytes.
	Passthroughs int64
	// OriginFetches are origin requests made.
	OriginFetches int64
	// OriginErrors are origin requests that failed (unreachable, timed
	// out, cut mid-body) or answered 5xx; not those cancelled because
	// every viewer left or the cache closed.
	OriginErrors int64
	// OriginBytes are body bytes read from origins.
	OriginBytes int64
	// ServedBytes are body bytes written to viewers.
	ServedBytes int64
	// Objects and BytesHeld are the objects stored and their memory
	// (bodies, keys, headers, overhead).
	Objects, BytesHeld int64
	// BytesReserved is memory promised to fetches in progress that will
	// be stored. BytesHeld + BytesReserved <= Config.MaxBytes.
	BytesReserved int64
	// Evictions are objects dropped to make room.
	Evictions int64
}

// counters are the atomic counters behind Stats.
type counters struct {
	hits, misses, coalesced, staleServed, passthroughs atomic.Int64
	originFetches, originErrors, originBytes           atomic.Int64
	servedBytes                                        atomic.Int64
}

// Stats returns the counters. Each is read atomically; together they are
// not one snapshot.
func (c *Cache) Stats() Stats {
	s := c.store.stats()
	return Stats{
		Hits:          c.stats.hits.Load(),
		Misses:        c.stats.misses.Load(),
		Coalesced:     c.stats.coalesced.Load(),
		StaleServed:   c.stats.staleServed.Load(),
		Passthroughs:  c.stats.passthroughs.Load(),
		OriginFetches: c.stats.originFetches.Load(),
		OriginErrors:  c.stats.originErrors.Load(),
		OriginBytes:   c.stats.originBytes.Load(),
		ServedBytes:   c.stats.servedBytes.Load(),
		Objects:       s.objects,
		BytesHeld:     s.held,
		BytesReserved: s.reserved,
		Evictions:     s.evicted,
	}
}
