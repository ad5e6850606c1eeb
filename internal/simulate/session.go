package simulate

import (
	"sync"
	"time"
)

// session is one simulated session: one token played by one or more
// devices, and what the edge answered them.
type session struct {
	id   string // the token's session id
	kind Kind
	url  string // the playback URL, on the edge
	// devices are the identities that play the token (for an address
	// change, both of the device's identities).
	devices []Identity
	// victim is the session whose id an impersonator writes, or "".
	victim string

	mu       sync.Mutex
	first    time.Time // first request
	last     time.Time // last answer
	blocked  time.Time // first answer with the blocked status
	requests int
	segments int // segments answered 2xx
	bytes    int64
	status   map[int]int
	errors   int    // requests without an answer (transport errors)
	problem  string // the first error that stopped a device early
}

func newSession(id string, kind Kind, url string, devices []Identity) *session {
	return &session{id: id, kind: kind, url: url, devices: devices, status: map[int]int{}}
}

// started notes a request about to be sent at t.
func (s *session) started(t time.Time) {
	s.mu.Lock()
	if s.first.IsZero() || t.Before(s.first) {
		s.first = t
	}
	s.mu.Unlock()
}

// answered records an answer (status 0: none, a transport error) at t.
func (s *session) answered(t time.Time, status int, segment bool, n int64, blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if t.After(s.last) {
		s.last = t
	}
	if status == 0 {
		s.errors++
		return
	}
	s.status[status]++
	s.bytes += n
	if segment && status >= 200 && status < 300 {
		s.segments++
	}
	if blocked && (s.blocked.IsZero() || t.Before(s.blocked)) {
		s.blocked = t
	}
}

// isBlocked reports whether the session has been answered blocked.
func (s *session) isBlocked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.blocked.IsZero()
}

// fail notes an error that stopped a device before the end of the run.
func (s *session) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.problem == "" {
		s.problem = err.Error()
	}
}
