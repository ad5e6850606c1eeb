// Package gcfloor keeps the Go runtime from collecting garbage while the
// heap is small: it raises GOGC so that the heap goal is at least a floor,
// and lowers it back as the live heap grows.
//
// The edge allocates a few hundred bytes a request. With GOGC=100 the
// heap goal is twice the live heap, so an edge whose heap is small (auth
// mode, a small or cold cache) collects many times a second at a high
// request rate, and each collection delays the requests it crosses: in
// bench/run.sh (1 KB, 32 connections, one core) collections were about
// half of the edge's p99 latency (BENCHMARKS.md, issue 14). With a floor
// of 64 MiB the same edge collects about once every 150,000 requests
// instead of every 10,000; once the live heap is above half the floor
// (a full cache), GOGC is the operator's again and nothing changes.
//
// A process has one runtime: Start starts one tuner for the process, the
// largest floor asked for wins. An operator's own GOGC (the environment
// variable) is left alone.
//
// It imports only the standard library.
package gcfloor

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// DefaultFloor is the heap goal below which the edge does not collect.
const DefaultFloor = 64 << 20

// interval is how often the live heap is read and GOGC set.
const interval = time.Second

// runtimeMinimum is the Go runtime's smallest heap goal at GOGC=100
// (defaultHeapMinimum); it scales with GOGC.
const runtimeMinimum = 4 << 20

var (
	mu      sync.Mutex
	floor   uint64
	started bool
)

// Start keeps the heap goal at or above bytes for as long as the process
// runs (0: nothing). It returns false, and does nothing, when the GOGC
// environment variable is set: the operator chose.
func Start(bytes int64, log *slog.Logger) bool {
	if bytes <= 0 {
		return false
	}
	if v, ok := os.LookupEnv("GOGC"); ok {
		log.Info("GOGC set in the environment: server.gc_floor left unused", "GOGC", v)
		return false
	}
	mu.Lock()
	defer mu.Unlock()
	floor = max(floor, uint64(bytes))
	if !started {
		started = true
		go run(context.Background())
	}
	return true
}

// Percent is the GOGC that gives a heap goal of floor bytes for a live
// heap of live bytes and roots bytes of stacks and globals, never below
// base. The runtime's goal is live + (live + roots) * GOGC / 100, and at
// least its minimum of 4 MiB * GOGC / 100: the GOGC that makes that
// minimum the floor bounds it (a tiny heap would ask for more).
func Percent(live, roots, floor uint64, base int) int {
	if floor <= live {
		return base
	}
	limit := floor * 100 / runtimeMinimum
	if live+roots == 0 {
		return max(base, int(limit))
	}
	p := min(limit, (floor-live)*100/(live+roots))
	return max(base, int(p))
}

func run(ctx context.Context) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/globals:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/gogc:percent"}}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		metrics.Read(sample)
		if known(sample) {
			mu.Lock()
			f := floor
			mu.Unlock()
			live, roots := sample[0].Value.Uint64(), sample[1].Value.Uint64()+sample[2].Value.Uint64()
			cur := int(sample[3].Value.Uint64())
			// Change it when it moves by a tenth or more.
			if p := Percent(live, roots, f, 100); p*10 > cur*11 || p*11 < cur*10 {
				debug.SetGCPercent(p)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// known reports whether the runtime knows every metric read.
func known(s []metrics.Sample) bool {
	for _, x := range s {
		if x.Value.Kind() != metrics.KindUint64 {
			return false
		}
	}
	return true
}
