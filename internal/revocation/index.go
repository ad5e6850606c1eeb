package revocation

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// Index is a sorted view of a Watcher's revoked sessions, for listing
// them page by page and by prefix fast at any size: reading the bucket's
// keys for every page (Store.List) takes seconds at 1,000,000 sessions,
// a binary search in the index microseconds. The index is rebuilt from
// the watcher's set in the background when the set changed, at most once
// per MaxAge, so a page may miss the changes of the last MaxAge and the
// rebuild's duration (about half a second at 1,000,000 ids).
type Index struct {
	w *Watcher
	// MaxAge is how stale the index may be (default 2s).
	MaxAge time.Duration

	mu    sync.Mutex
	ids   []string
	ver   uint64
	n     int
	built time.Time
	have  bool
	// building says a rebuild runs in the background.
	building bool
}

// NewIndex returns an index over w's set.
func NewIndex(w *Watcher) *Index { return &Index{w: w, MaxAge: 2 * time.Second} }

// Page returns up to limit revoked session ids that start with prefix
// and sort after after, in order; the cursor of the next page ("" on the
// last); and how many ids start with prefix in all. ok is false until the
// watcher has read the bucket.
func (x *Index) Page(after, prefix string, limit int) (ids []string, next string, total int, ok bool) {
	select {
	case <-x.w.Ready():
	default:
		return nil, "", 0, false
	}
	all := x.sorted()
	lo := sort.SearchStrings(all, prefix)
	// Session ids are letters, digits and '_': every id with the prefix
	// sorts before prefix+"\x7f".
	hi := lo + sort.SearchStrings(all[lo:], prefix+"\x7f")
	match := all[lo:hi]
	start := 0
	if after != "" {
		start = sort.Search(len(match), func(i int) bool { return match[i] > after })
	}
	end := min(start+limit, len(match))
	ids = slices.Clone(match[start:end])
	if end < len(match) && len(ids) > 0 {
		next = ids[len(ids)-1]
	}
	return ids, next, len(match), true
}

// sorted returns the ids. The first call builds them; later calls return
// the last build at once and, when the set changed and the build is older
// than MaxAge, start one rebuild in the background (a sort of 1,000,000
// ids takes about half a second: no page waits for it).
func (x *Index) sorted() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	// The version moves on additions, the length on removals too.
	ver, n := x.w.Version(), x.w.Len()
	switch {
	case !x.have:
		x.ids, x.ver, x.n, x.built, x.have = x.build(), ver, n, time.Now(), true
	case (ver != x.ver || n != x.n) && time.Since(x.built) >= x.MaxAge && !x.building:
		x.building = true
		go func() {
			ids := x.build()
			x.mu.Lock()
			x.ids, x.ver, x.n, x.built, x.building = ids, ver, n, time.Now(), false
			x.mu.Unlock()
		}()
	}
	return x.ids
}

// build reads and sorts the set's ids.
func (x *Index) build() []string {
	ids := make([]string, 0, x.w.Len())
	x.w.Each(func(id string) bool {
		ids = append(ids, id)
		return true
	})
	slices.Sort(ids)
	return ids
}
