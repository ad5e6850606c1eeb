package gcfloor

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live, roots, floor uint64
		base, want         int
	}{
		{live: 2 * mib, floor: 64 * mib, base: 100, want: 1600},                // the runtime's minimum, 4 MiB * 16, is the floor
		{live: 8 * mib, floor: 64 * mib, base: 100, want: 700},                 // 8 + 8 * 7 = 64 MiB
		{live: 8 * mib, roots: 8 * mib, floor: 64 * mib, base: 100, want: 350}, // 8 + 16 * 3.5
		{live: 32 * mib, floor: 64 * mib, base: 100, want: 100},                // goal 64 MiB already
		{live: 40 * mib, floor: 64 * mib, base: 100, want: 100},                // the base gives more
		{live: 600 * mib, floor: 64 * mib, base: 100, want: 100},               // a full cache
		{live: 16 * mib, floor: 64 * mib, base: 400, want: 400},                // never below the base
		{live: 0, floor: 64 * mib, base: 100, want: 1600},                      // nothing live yet
		{live: 0, floor: 2 * mib, base: 100, want: 100},                        // below the runtime's own minimum
	} {
		got := Percent(tc.live, tc.roots, tc.floor, tc.base)
		if got != tc.want {
			t.Errorf("Percent(%d, %d, %d, %d) = %d, want %d", tc.live, tc.roots, tc.floor, tc.base, got, tc.want)
		}
		// The goal it gives is the floor (to a percent), unless bounded or
		// the base gives more.
		goal := max(tc.live+(tc.live+tc.roots)*uint64(got)/100, runtimeMinimum*uint64(got)/100)
		if got > tc.base && (goal > tc.floor || goal < tc.floor-tc.floor/100) {
			t.Errorf("live %d, roots %d, GOGC %d: goal %d, not the floor %d", tc.live, tc.roots, got, goal, tc.floor)
		}
	}
}

var sink []byte

// cycles allocates n bytes of garbage in 1 KiB pieces and returns how
// many collections ran meanwhile.
func cycles(n int) uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	c0 := s[0].Value.Uint64()
	for range n >> 10 {
		sink = make([]byte, 1<<10)
	}
	metrics.Read(s)
	return s[0].Value.Uint64() - c0
}

// TestStart: with a small live heap, a 64 MiB floor cuts the collections
// of 512 MiB of garbage from about a hundred (a 4 MiB goal) to about
// eight.
func TestStart(t *testing.T) {
	os.Unsetenv("GOGC")
	debug.SetGCPercent(100)
	runtime.GC()
	before := cycles(512 << 20)
	if !Start(DefaultFloor, slog.New(slog.DiscardHandler)) {
		t.Fatal("Start refused")
	}
	deadline := time.Now().Add(5 * time.Second)
	// The live heap is small once the garbage above is collected: the
	// tuner then asks for GOGC 1600 (the runtime's minimum goal, 4 MiB
	// at GOGC 100, becomes 64 MiB).
	runtime.GC()
	gogc := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	for metrics.Read(gogc); gogc[0].Value.Uint64() < 1000; metrics.Read(gogc) {
		if time.Now().After(deadline) {
			t.Fatal("GOGC not raised within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	after := cycles(512 << 20)
	t.Logf("collections for 512 MiB of garbage: %d without a floor, %d with (GOGC %d)", before, after, gogc[0].Value.Uint64())
	if before < 40 || after < 4 || after > 16 {
		t.Fatalf("collections: %d without a floor, %d with", before, after)
	}
}
