package cache

import (
	"fmt"
	"testing"
	"time"
)

func testObject(key string, size int) *object {
	return newObject(key, &meta{status: 200, cost: objectOverhead + int64(len(key)), expires: time.Now().Add(time.Hour)}, make([]byte, size))
}

func TestStoreEvictsOldestUnused(t *testing.T) {
	o := testObject("k0", 100)
	s := newStore(4 * o.cost) // room for four objects of this size
	for i := range 4 {
		if !s.commit(testObject(fmt.Sprintf("k%d", i), 100), 0) {
			t.Fatalf("commit k%d failed", i)
		}
	}
	s.get("k0") // used: survives the next eviction once
	s.commit(testObject("k4", 100), 0)
	tests := []struct {
		key  string
		kept bool
	}{
		{"k0", true}, {"k1", false}, {"k2", true}, {"k3", true}, {"k4", true},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			if got := s.get(tc.key) != nil; got != tc.kept {
				t.Errorf("kept = %v; want %v", got, tc.kept)
			}
		})
	}
	st := s.stats()
	if st.objects != 4 || st.held != 4*o.cost || st.evicted != 1 {
		t.Errorf("stats = %+v; want 4 objects, %d bytes, 1 eviction", st, 4*o.cost)
	}
}

func TestStoreReservations(t *testing.T) {
	s := newStore(1000)
	s.commit(testObject("a", 300), 0)
	tests := []struct {
		name string
		n    int64
		ok   bool
	}{
		{name: "fits beside", n: 100, ok: true},
		{name: "needs an eviction", n: 500, ok: true},
		{name: "cannot fit beside promises", n: 500},
		{name: "larger than the store", n: 1001},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.reserve(tc.n); got != tc.ok {
				t.Fatalf("reserve(%d) = %v; want %v", tc.n, got, tc.ok)
			}
			st := s.stats()
			if st.held+st.reserved > 1000 {
				t.Errorf("held %d + reserved %d > 1000", st.held, st.reserved)
			}
		})
	}
	if s.get("a") != nil {
		t.Errorf("a not evicted for the reservation")
	}
	s.release(600)
	if st := s.stats(); st.reserved != 0 {
		t.Errorf("reserved = %d after release; want 0", st.reserved)
	}
}

func TestStoreCommitReplacesAndRemove(t *testing.T) {
	s := newStore(10000)
	a1, a2 := testObject("a", 10), testObject("a", 20)
	s.commit(a1, 0)
	s.commit(a2, 0)
	if got := s.get("a"); got != a2 {
		t.Fatalf("get = %p; want the replacement %p", got, a2)
	}
	if st := s.stats(); st.objects != 1 || st.held != a2.cost {
		t.Errorf("stats = %+v; want one object of %d bytes", st, a2.cost)
	}
	s.remove(a1) // not stored any more: no effect
	if s.get("a") != a2 {
		t.Fatalf("remove of a replaced object removed its replacement")
	}
	s.remove(a2)
	if st := s.stats(); s.get("a") != nil || st.objects != 0 || st.held != 0 {
		t.Errorf("after remove: %+v", st)
	}
}
