package smde

import (
	"hash/maphash"
	"strings"
	"sync"
)

// cache remembers verified tokens, keyed by the whole token segment. It is
// a small custom piece rather than a cache library because it sits on the
// per-request hot path (the 1 µs budget of a repeat token) and needs no
// more than this: sharded maps in two generations. New entries go to the
// current generation; when it holds half the bound, it becomes the previous
// one and the old previous is dropped. A hit in the previous generation is
// moved forward, so active tokens survive and the total stays within the
// bound.
//
// Go maps compare keys only after their (per-process seeded) hashes match,
// and a changed byte changes the whole hash, so lookups reveal nothing about
// the signature of a stored token byte by byte.
type cache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
	half   int // entries per shard generation
}

const cacheShards = 16

// maxCachedSegment keeps unusually long tokens out of the cache, so that the
// bound in entries is also a bound in bytes.
const maxCachedSegment = 4 << 10

type cacheShard struct {
	mu        sync.RWMutex
	cur, prev map[string]*verified
}

func newCache(entries int) *cache {
	half := entries / (2 * cacheShards)
	if half < 1 {
		half = 1
	}
	c := &cache{seed: maphash.MakeSeed(), half: half}
	for i := range c.shards {
		c.shards[i].cur = make(map[string]*verified)
	}
	return c
}

func (c *cache) shard(k string) *cacheShard {
	return &c.shards[maphash.String(c.seed, k)%cacheShards]
}

func (c *cache) get(k string) *verified {
	s := c.shard(k)
	s.mu.RLock()
	e := s.cur[k]
	if e == nil && s.prev != nil {
		e = s.prev[k]
		s.mu.RUnlock()
		if e != nil {
			s.mu.Lock()
			s.insert(k, e, c.half)
			s.mu.Unlock()
		}
		return e
	}
	s.mu.RUnlock()
	return e
}

func (c *cache) put(k string, e *verified) {
	if len(k) > maxCachedSegment {
		return
	}
	s := c.shard(k)
	s.mu.Lock()
	s.insert(k, e, c.half)
	s.mu.Unlock()
}

// insert adds to the current generation, rotating generations when full.
// The caller holds s.mu.
func (s *cacheShard) insert(k string, e *verified, half int) {
	if len(s.cur) >= half {
		s.prev, s.cur = s.cur, make(map[string]*verified, half)
	}
	s.cur[strings.Clone(k)] = e // k may point into a whole request line
}

// len returns the number of entries, for tests.
func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.cur) + len(s.prev)
		s.mu.RUnlock()
	}
	return n
}
