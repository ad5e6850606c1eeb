package detect

import (
	"strings"
	"sync"
)

// maxInterned bounds the strings an interner holds; past it, strings are
// copied, not shared.
const maxInterned = 1 << 16

// interner shares the copies of the strings sessions keep for evidence
// (user agents, rendition templates): a few hundred distinct ones among
// millions of sessions, so one copy each instead of one per session.
type interner struct {
	mu sync.Mutex
	m  map[string]string
}

// of returns a copy of s that may be shared, never s itself (events'
// strings are not the detector's to keep).
func (in *interner) of(s string) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if v, ok := in.m[s]; ok {
		return v
	}
	c := strings.Clone(s)
	if in.m == nil {
		in.m = map[string]string{}
	}
	if len(in.m) < maxInterned {
		in.m[c] = c
	}
	return c
}
