// Package ratelimit limits requests per client address with one token
// bucket per address (golang.org/x/time/rate), in bounded memory.
//
// The contract: Allow either admits a request or says how long the
// client should wait (for a Retry-After header). IPv6 clients are limited
// per /64, the block a single subscriber usually holds, so that one
// viewer cannot multiply its allowance by changing the low bits of its
// address. At most MaxClients buckets are held; buckets idle long enough
// to be full again are dropped first, then arbitrary ones (whose clients
// start again with a full bucket).
package ratelimit

import (
	"math"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxClients bounds the buckets held when MaxClients is 0.
const DefaultMaxClients = 100_000

// Limiter is a per-client rate limiter. Create it with New; it is safe
// for concurrent use.
type Limiter struct {
	rate  rate.Limit
	burst int
	max   int
	// idle is how long a bucket takes to refill completely; an entry idle
	// that long is the same as no entry.
	idle time.Duration

	mu      sync.Mutex
	clients map[netip.Addr]*client
}

type client struct {
	lim  *rate.Limiter
	last time.Time
}

// New returns a limiter of rps requests per second with bursts of burst,
// holding at most maxClients buckets (0: DefaultMaxClients).
func New(rps float64, burst, maxClients int) *Limiter {
	if maxClients <= 0 {
		maxClients = DefaultMaxClients
	}
	if burst < 1 {
		burst = 1
	}
	idle := time.Duration(math.Ceil(float64(burst)/rps*float64(time.Second))) + time.Second
	return &Limiter{rate: rate.Limit(rps), burst: burst, max: maxClients, idle: idle, clients: map[netip.Addr]*client{}}
}

// key is the bucket of an address: itself for IPv4, its /64 for IPv6.
func key(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// Allow takes one token from the bucket of addr at time now. It returns
// true, or false and how long until a token is available (at least 1s,
// rounded up to whole seconds for Retry-After).
func (l *Limiter) Allow(addr netip.Addr, now time.Time) (bool, time.Duration) {
	k := key(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[k]
	if c == nil {
		if len(l.clients) >= l.max {
			l.evict(now)
		}
		c = &client{lim: rate.NewLimiter(l.rate, l.burst)}
		l.clients[k] = c
	}
	c.last = now
	r := c.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	d := r.DelayFrom(now)
	if d == 0 {
		return true, 0
	}
	r.CancelAt(now)
	return false, max(time.Second, (d+time.Second-1)/time.Second*time.Second)
}

// evict drops idle buckets; if none is idle, it drops about a tenth of
// the buckets, arbitrary ones (map order), so that a flood of new
// addresses cannot make every request pay for a full scan.
func (l *Limiter) evict(now time.Time) {
	for k, c := range l.clients {
		if now.Sub(c.last) >= l.idle {
			delete(l.clients, k)
		}
	}
	if len(l.clients) < l.max {
		return
	}
	n := max(1, l.max/10)
	for k := range l.clients {
		if n == 0 {
			break
		}
		delete(l.clients, k)
		n--
	}
}

// Len returns the number of buckets held.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}
