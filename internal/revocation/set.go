package revocation

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Checker answers whether a session is revoked.
type Checker interface {
	Revoked(sessionID string) bool
}

// shardCount is the number of shards of a Set (a power of two).
//
// Why shards with a read-write lock each: the set must take a stream of
// single additions and removals while holding 1,000,000 entries, so the
// copy-on-write map of the first version (one new map per change, 1M
// entries copied per revocation) is out, and so is a copy-on-write shard
// (4,000 entries copied per change). A single RWMutex over one map is
// correct but every reader increments the same counter, whose cache line
// then bounces between cores. With 256 shards, readers of different
// sessions touch different locks, a writer blocks 1/256 of the readers for
// the time of one map assignment, and a check costs one maphash of the id,
// an uncontended RLock/RUnlock pair and one map lookup (BenchmarkSet1M and
// the single-lock peer beside it in scale_bench_test.go measure it).
// sync.Map was not chosen: its keys are interfaces, so every check of a
// string id would allocate.
const shardCount = 256

// maxExpiry is the latest expiry that Unix nanoseconds hold.
var maxExpiry = time.Unix(0, 1<<63-1)

// shard is one part of a Set. The padding keeps two shards' locks off one
// cache line (128 bytes covers the adjacent-line prefetcher).
type shard struct {
	mu sync.RWMutex
	// m maps a session id to its expiry in Unix nanoseconds, 0 for none.
	m map[string]int64
	_ [128 - 24 - 8]byte
}

// Set is a set of revoked session ids with optional expiry times, safe for
// concurrent use by any number of readers and writers. Create it with
// NewSet; the zero Set is not usable.
type Set struct {
	seed maphash.Seed
	n    atomic.Int64
	ver  atomic.Uint64 // counts additions (see Version)
	// now, when set, replaces the coarse clock (tests).
	now    func() time.Time
	shards [shardCount]shard
}

// NewSet returns a set holding ids, without expiry.
func NewSet(ids ...string) *Set {
	s := &Set{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = make(map[string]int64)
	}
	for _, id := range ids {
		s.Add(id, time.Time{})
	}
	return s
}

func (s *Set) shard(id string) *shard {
	return &s.shards[maphash.String(s.seed, id)&(shardCount-1)]
}

// Revoked implements Checker: id is in the set and its expiry, if any, has
// not passed. The clock is read only for entries that have an expiry, and
// it is the coarse clock (an expiry takes effect up to about 10ms late).
func (s *Set) Revoked(id string) bool {
	if id == "" {
		return false
	}
	sh := s.shard(id)
	sh.mu.RLock()
	exp, ok := sh.m[id]
	sh.mu.RUnlock()
	return ok && (exp == 0 || s.nowNano(true) < exp)
}

// nowNano returns the time in Unix nanoseconds: the injected clock, or the
// coarse one when coarse is set, or the system clock.
func (s *Set) nowNano(coarse bool) int64 {
	switch {
	case s.now != nil:
		return s.now().UnixNano()
	case coarse:
		return coarseNow()
	default:
		return time.Now().UnixNano()
	}
}

// coarseTick is the resolution of the coarse clock.
const coarseTick = 10 * time.Millisecond

// clock is a coarse clock in Unix nanoseconds for the checks of expiring
// entries: reading the system clock costs about 120ns on the project's
// virtual machines, more than the whole check without it, while
// revocations expire in whole seconds. One goroutine per process, started
// by the first check of an expiring entry, refreshes it; if it falls
// behind (an overloaded machine), expiries come late, never early.
var clock struct {
	once sync.Once
	now  atomic.Int64
}

func coarseNow() int64 {
	clock.once.Do(func() {
		clock.now.Store(time.Now().UnixNano())
		go func() {
			for t := range time.Tick(coarseTick) {
				clock.now.Store(t.UnixNano())
			}
		}()
	})
	return clock.now.Load()
}

// Add revokes id until expires (the zero time: until removed), replacing
// the expiry of an id already held.
func (s *Set) Add(id string, expires time.Time) {
	var exp int64
	switch {
	case expires.IsZero() || expires.After(maxExpiry):
		// none (times past 2262 do not fit in Unix nanoseconds)
	default:
		exp = max(expires.UnixNano(), 1)
	}
	s.addRaw(id, exp)
}

// Remove drops id and reports whether it was held.
func (s *Set) Remove(id string) bool {
	sh := s.shard(id)
	sh.mu.Lock()
	_, had := sh.m[id]
	delete(sh.m, id)
	sh.mu.Unlock()
	if had {
		s.n.Add(-1)
	}
	return had
}

// Replace swaps in a new content without expiry. Each shard changes at
// once, so every id reads either as before or as after, never absent in
// between when it is in both contents.
func (s *Set) Replace(ids []string) {
	var next [shardCount]map[string]int64
	for i := range next {
		next[i] = make(map[string]int64, len(ids)/shardCount)
	}
	for _, id := range ids {
		next[maphash.String(s.seed, id)&(shardCount-1)][id] = 0
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		delta := len(next[i]) - len(sh.m)
		sh.m = next[i]
		sh.mu.Unlock()
		s.n.Add(int64(delta))
	}
	s.ver.Add(1)
}

// Len returns the number of sessions held, including any whose expiry
// passed since the last sweep.
func (s *Set) Len() int { return int(s.n.Load()) }

// removeIf drops the entries for which drop(id, expiry) is true, one shard
// at a time, and returns how many it dropped.
func (s *Set) removeIf(drop func(id string, exp int64) bool) int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for id, exp := range sh.m {
			if drop(id, exp) {
				delete(sh.m, id)
				n++
			}
		}
		sh.mu.Unlock()
	}
	s.n.Add(int64(-n))
	return n
}

// sweepExpired drops the entries whose expiry has passed.
func (s *Set) sweepExpired() int {
	now := s.nowNano(false)
	return s.removeIf(func(_ string, exp int64) bool { return exp != 0 && exp <= now })
}

// each calls fn for every entry, one shard at a time under its read lock;
// fn must not call back into the set.
func (s *Set) each(fn func(id string, exp int64)) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for id, exp := range sh.m {
			fn(id, exp)
		}
		sh.mu.RUnlock()
	}
}

// addRaw adds id with an expiry in Unix nanoseconds (0: none).
func (s *Set) addRaw(id string, exp int64) {
	sh := s.shard(id)
	sh.mu.Lock()
	_, had := sh.m[id]
	sh.m[id] = exp
	sh.mu.Unlock()
	if !had {
		s.n.Add(1)
		s.ver.Add(1)
	}
}

// Version changes whenever an id is added (removals do not count): a
// caller that scanned the set at one version has seen every id held
// since, until the version moves.
func (s *Set) Version() uint64 { return s.ver.Load() }

// Each calls fn with every id held (expired or not) until fn returns
// false; fn must not call back into the set.
func (s *Set) Each(fn func(id string) bool) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		for id := range sh.m {
			if !fn(id) {
				sh.mu.RUnlock()
				return
			}
		}
		sh.mu.RUnlock()
	}
}
