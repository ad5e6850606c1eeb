package revocation

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestIndexPage: pages of the sorted ids, by prefix, with the cursor and
// the total; not ok before the watcher is ready; a change to the set
// shows once MaxAge has passed (additions and removals both).
func TestIndexPage(t *testing.T) {
	w := NewWatcher(WatcherConfig{})
	x := NewIndex(w)
	if _, _, _, ok := x.Page("", "", 10); ok {
		t.Fatal("ok before the watcher is ready")
	}
	var ids []string
	for i := range 250 {
		ids = append(ids, fmt.Sprintf("s%03d", i))
	}
	ids = append(ids, "a1", "a2", "b_1", "s")
	for _, id := range ids {
		w.Set().Add(id, time.Time{})
	}
	w.readyOnce.Do(func() { close(w.ready) }) // as after its first read of the bucket
	slices.Sort(ids)
	for _, tc := range []struct {
		name, after, prefix string
		limit               int
		want                []string
		next                string
		total               int
	}{
		{"first page", "", "", 3, []string{"a1", "a2", "b_1"}, "b_1", 254},
		{"after a cursor", "b_1", "", 2, []string{"s", "s000"}, "s000", 254},
		{"prefix", "", "a", 10, []string{"a1", "a2"}, "", 2},
		{"prefix, paged", "", "s1", 2, []string{"s100", "s101"}, "s101", 100},
		{"prefix, last page", "s197", "s19", 5, []string{"s198", "s199"}, "", 10},
		{"prefix of one", "", "s249", 5, []string{"s249"}, "", 1},
		{"no match", "", "zz", 5, []string{}, "", 0},
		{"cursor past all", "zz", "", 5, []string{}, "", 254},
		{"exact page", "s245", "s24", 4, []string{"s246", "s247", "s248", "s249"}, "", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, next, total, ok := x.Page(tc.after, tc.prefix, tc.limit)
			if !ok || !slices.Equal(got, tc.want) || next != tc.next || total != tc.total {
				t.Errorf("Page(%q, %q, %d) = %v, %q, %d, %v; want %v, %q, %d", tc.after, tc.prefix, tc.limit, got, next, total, ok, tc.want, tc.next, tc.total)
			}
		})
	}
	x.mu.Lock()
	x.MaxAge = 0
	x.mu.Unlock()
	// A change shows once the background rebuild it starts is done.
	eventually := func(what string, want []string, total int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, _, n, _ := x.Page("", "a", 10)
			if slices.Equal(got, want) && n == total {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v, %d; want %v, %d", what, got, n, want, total)
			}
			time.Sleep(time.Millisecond)
		}
	}
	w.Set().Remove("a1")
	eventually("after a removal", []string{"a2"}, 1)
	w.Set().Add("a0", time.Time{})
	eventually("after an addition", []string{"a0", "a2"}, 2)
}

// BenchmarkIndexBuild: sorting 1,000,000 revoked ids, the rebuild that
// runs in the background after a change.
func BenchmarkIndexBuild(b *testing.B) {
	w := NewWatcher(WatcherConfig{})
	for i := range 1_000_000 {
		w.Set().Add(fmt.Sprintf("sess%07d", (i*7919)%1_000_000), time.Time{})
	}
	x := NewIndex(w)
	for b.Loop() {
		x.build()
	}
}

// BenchmarkIndexPage: a page of 50 by prefix from 1,000,000 ids, the
// index built (the dashboard's revoked list).
func BenchmarkIndexPage(b *testing.B) {
	w := NewWatcher(WatcherConfig{})
	for i := range 1_000_000 {
		w.Set().Add(fmt.Sprintf("sess%07d", i), time.Time{})
	}
	w.readyOnce.Do(func() { close(w.ready) })
	x := NewIndex(w)
	x.Page("", "", 1)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		x.Page("", fmt.Sprintf("sess%03d", i%1000), 50)
	}
}
