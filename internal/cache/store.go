package cache

import "sync"

// store holds complete objects within a byte budget. Lookups share a read
// lock and only mark the object used; eviction is a second-chance clock:
// the least recently inserted object goes first, unless it was used since
// the hand last passed, in which case it moves to the front once. This is
// LRU in effect without a write lock on every hit.
type store struct {
	mu       sync.RWMutex
	items    map[string]*object
	root     object // ring sentinel: root.next is the newest, root.prev the oldest
	max      int64
	held     int64 // cost of stored objects
	reserved int64 // bytes promised to fetches in progress
	evicted  int64
}

func newStore(max int64) *store {
	s := &store{items: make(map[string]*object), max: max}
	s.root.next, s.root.prev = &s.root, &s.root
	return s
}

// get returns the object stored under key, fresh or not, or nil.
func (s *store) get(key string) *object {
	s.mu.RLock()
	o := s.items[key]
	s.mu.RUnlock()
	if o != nil && !o.ref.Load() {
		o.ref.Store(true)
	}
	return o
}

// reserve promises n bytes to a fetch in progress, evicting objects to make
// room. It reports false, evicting nothing, when n cannot fit even in an
// empty store beside the other promises.
func (s *store) reserve(n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.makeRoom(n) {
		return false
	}
	s.reserved += n
	return true
}

// release returns a promise of n bytes.
func (s *store) release(n int64) {
	if n == 0 {
		return
	}
	s.mu.Lock()
	s.reserved -= n
	s.mu.Unlock()
}

// commit stores o in place of any object under its key, turning a promise
// of reserved bytes into o's cost. It reports false if o does not fit.
func (s *store) commit(o *object, reserved int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved -= reserved
	if old := s.items[o.key]; old != nil {
		s.unlink(old)
	}
	if !s.makeRoom(o.cost) {
		return false
	}
	s.items[o.key] = o
	s.held += o.cost
	o.next, o.prev = s.root.next, &s.root
	o.next.prev, s.root.next = o, o
	return true
}

// remove drops o if it is still the object stored under its key.
func (s *store) remove(o *object) {
	s.mu.Lock()
	if s.items[o.key] == o {
		s.unlink(o)
	}
	s.mu.Unlock()
}

// makeRoom evicts objects until n more bytes fit. s.mu is held.
func (s *store) makeRoom(n int64) bool {
	if s.reserved+n > s.max {
		return false
	}
	// Each object gets at most one second chance per call, so the loop
	// ends even while readers keep marking objects used.
	chances := len(s.items)
	for s.held+s.reserved+n > s.max {
		o := s.root.prev
		if chances > 0 && o.ref.Load() {
			chances--
			o.ref.Store(false)
			s.moveToFront(o)
			continue
		}
		s.unlink(o)
		s.evicted++
	}
	return true
}

func (s *store) unlink(o *object) {
	delete(s.items, o.key)
	s.held -= o.cost
	o.prev.next, o.next.prev = o.next, o.prev
	o.prev, o.next = nil, nil
}

func (s *store) moveToFront(o *object) {
	if s.root.next == o {
		return
	}
	o.prev.next, o.next.prev = o.next, o.prev
	o.next, o.prev = s.root.next, &s.root
	o.next.prev, s.root.next = o, o
}

// storeStats is a consistent view of the store's counters.
type storeStats struct {
	objects, held, reserved, evicted int64
}

func (s *store) stats() storeStats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return storeStats{objects: int64(len(s.items)), held: s.held, reserved: s.reserved, evicted: s.evicted}
}
