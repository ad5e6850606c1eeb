package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestAllow(t *testing.T) {
	l := New(1, 3, 0)
	a := netip.MustParseAddr("203.0.113.5")
	for i := range 3 {
		if ok, _ := l.Allow(a, t0); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow(a, t0)
	if ok || wait != time.Second {
		t.Fatalf("4th request: %v %v, want refused, 1s", ok, wait)
	}
	// A refused request takes nothing: after 1s exactly one more passes.
	if ok, _ := l.Allow(a, t0.Add(time.Second)); !ok {
		t.Fatal("refused after the wait")
	}
	if ok, _ := l.Allow(a, t0.Add(time.Second)); ok {
		t.Fatal("second request after one second admitted")
	}
	// Another client has its own bucket.
	if ok, _ := l.Allow(netip.MustParseAddr("198.51.100.1"), t0); !ok {
		t.Fatal("other client refused")
	}
	// IPv4-mapped IPv6 is the same client.
	if ok, _ := l.Allow(netip.MustParseAddr("::ffff:203.0.113.5"), t0.Add(time.Second)); ok {
		t.Fatal("mapped address has its own bucket")
	}
}

func TestRetryAfterRounding(t *testing.T) {
	l := New(0.25, 1, 0) // one token every 4s
	a := netip.MustParseAddr("192.0.2.1")
	l.Allow(a, t0)
	if ok, wait := l.Allow(a, t0.Add(500*time.Millisecond)); ok || wait != 4*time.Second {
		t.Fatalf("got %v %v, want refused, 4s (3.5s rounded up)", ok, wait)
	}
}

func TestIPv6Per64(t *testing.T) {
	l := New(1, 1, 0)
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8:1:2::1"), t0); !ok {
		t.Fatal("first refused")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8:1:2:ffff::9"), t0); ok {
		t.Fatal("same /64 has its own bucket")
	}
	if ok, _ := l.Allow(netip.MustParseAddr("2001:db8:1:3::1"), t0); !ok {
		t.Fatal("another /64 refused")
	}
}

func TestBoundedMemory(t *testing.T) {
	l := New(1, 1, 100)
	base := netip.MustParseAddr("10.0.0.0").As4()
	for i := range 1000 {
		b := base
		b[2], b[3] = byte(i>>8), byte(i)
		l.Allow(netip.AddrFrom4(b), t0)
		if n := l.Len(); n > 100 {
			t.Fatalf("%d buckets held, limit 100", n)
		}
	}
	// Idle buckets go first: after the refill time, a new client evicts
	// all of them at once.
	l.Allow(netip.MustParseAddr("192.0.2.1"), t0.Add(time.Hour))
	if n := l.Len(); n != 1 {
		t.Fatalf("%d buckets after idle eviction, want 1", n)
	}
}
