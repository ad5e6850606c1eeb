package revocation

// Benchmarks of revocation at scale (BENCHMARKS.md, "Revocation at scale").
// They are not part of the test suite; run them with, for instance:
//
//	go test -run '^$' -bench 'Set1M|SetMemory1M|Snapshot1M' -benchtime 1s ./internal/revocation/
//	go test -run '^$' -bench 'KV1M' -benchtime 3x -timeout 30m ./internal/revocation/
//	go test -run '^$' -bench 'Propagation' -benchtime 500x ./internal/revocation/
//
// SMD_SCALE_N sets the number of revoked sessions (default 1,000,000).

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

// scaleN is the number of revoked sessions of the scale benchmarks.
func scaleN(b *testing.B) int {
	if v := os.Getenv("SMD_SCALE_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("SMD_SCALE_N=%q", v)
		}
		return n
	}
	return 1_000_000
}

// sessionIDs returns n distinct ids of 32 hex digits (a UUID's size).
func sessionIDs(n int, prefix string) []string {
	r := rand.New(rand.NewPCG(1, uint64(len(prefix))))
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%016x%016x", prefix, r.Uint64(), uint64(i))[:32]
	}
	return ids
}

var big struct {
	once      sync.Once
	set       *Set
	hits, mis []string
}

// bigSet returns a set of n ids (a quarter with an expiry in an hour), the
// ids it holds and ids it does not.
func bigSet(b *testing.B) (*Set, []string, []string) {
	big.once.Do(func() {
		n := scaleN(b)
		big.hits = sessionIDs(n, "a")
		big.mis = sessionIDs(n, "b")
		big.set = NewSet()
		exp := time.Now().Add(time.Hour)
		for i, id := range big.hits {
			if i%4 == 0 {
				big.set.Add(strings.Clone(id), exp)
			} else {
				big.set.Add(strings.Clone(id), time.Time{})
			}
		}
	})
	return big.set, big.hits, big.mis
}

// BenchmarkSet1M is the per-request check with 1,000,000 revoked sessions.
func BenchmarkSet1M(b *testing.B) {
	s, hits, mis := bigSet(b)
	// noExp are held ids without expiry (i%4 != 0), exp ids with one.
	var noExp, exp []string
	for i, id := range hits[:min(len(hits), 65536)] {
		if i%4 == 0 {
			exp = append(exp, id)
		} else {
			noExp = append(noExp, id)
		}
	}
	mis = mis[:min(len(mis), 65536)]
	serial := func(ids []string, want bool) func(*testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if s.Revoked(ids[i%len(ids)]) != want {
					b.Fatal("wrong answer")
				}
			}
		}
	}
	// writer 0: none; -1: flat out; n > 0: n writes per second.
	parallel := func(c Checker, ids []string, want bool, writer int) func(*testing.B) {
		return func(b *testing.B) {
			b.ReportAllocs()
			var stop atomic.Bool
			var writes atomic.Int64
			var wg sync.WaitGroup
			if writer != 0 {
				set := c.(*Set)
				extra := sessionIDs(4096, "w")
				wg.Add(1)
				go func() {
					defer wg.Done()
					var tick <-chan time.Time
					if writer > 0 {
						t := time.NewTicker(time.Second / time.Duration(writer))
						defer t.Stop()
						tick = t.C
					}
					began := time.Now()
					for i := 0; !stop.Load(); i++ {
						// A paced writer catches up on the writes it owes
						// when it gets a core (readers saturate both).
						if tick != nil && int64(i) >= int64(time.Since(began).Seconds()*float64(writer)) {
							<-tick
						}
						id := extra[i%len(extra)]
						if i/len(extra)%2 == 0 {
							set.Add(id, time.Time{})
						} else {
							set.Remove(id)
						}
						writes.Add(1)
					}
				}()
			}
			start := time.Now()
			var seq atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				i := int(seq.Add(7919))
				for pb.Next() {
					if c.Revoked(ids[i%len(ids)]) != want {
						b.Error("wrong answer")
						return
					}
					i++
				}
			})
			stop.Store(true)
			wg.Wait()
			if writer != 0 {
				b.ReportMetric(float64(writes.Load())/time.Since(start).Seconds(), "writes/s")
			}
		}
	}
	b.Run("hit", serial(noExp, true))
	b.Run("hit-with-expiry", serial(exp, true))
	b.Run("miss", serial(mis, false))
	b.Run("parallel-hit", parallel(s, noExp, true, 0))
	b.Run("parallel-miss", parallel(s, mis, false, 0))
	b.Run("parallel-hit-with-writer-10k", parallel(s, noExp, true, 10000))
	b.Run("parallel-miss-with-writer-10k", parallel(s, mis, false, 10000))
	// A writer flat out takes one of the two cores from the readers.
	b.Run("parallel-hit-with-writer-flat-out", parallel(s, noExp, true, -1))
	// The design not taken: one RWMutex over one map (see shardCount).
	peer := &singleLockSet{m: make(map[string]int64, len(hits))}
	for _, id := range hits {
		peer.m[id] = 0
	}
	b.Run("peer-single-lock/parallel-hit", parallel(peer, noExp, true, 0))
}

// singleLockSet is the peer of BenchmarkSet1M: one map, one RWMutex.
type singleLockSet struct {
	mu sync.RWMutex
	m  map[string]int64
}

func (s *singleLockSet) Revoked(id string) bool {
	s.mu.RLock()
	_, ok := s.m[id]
	s.mu.RUnlock()
	return ok
}

// BenchmarkSetMemory1M reports the heap a set of 1,000,000 sessions holds
// (32-character ids, a quarter with an expiry).
func BenchmarkSetMemory1M(b *testing.B) {
	n := scaleN(b)
	ids := sessionIDs(n, "m")
	exp := time.Now().Add(time.Hour)
	var m0, m1 runtime.MemStats
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&m0)
		b.StartTimer()
		s := NewSet()
		for i, id := range ids {
			e := time.Time{}
			if i%4 == 0 {
				e = exp
			}
			s.Add(strings.Clone(id), e)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		runtime.KeepAlive(s)
		b.StartTimer()
	}
	held := float64(m1.HeapAlloc) - float64(m0.HeapAlloc)
	b.ReportMetric(held/float64(n), "heap-B/entry")
	b.ReportMetric(held/(1<<20), "heap-MiB")
}

// BenchmarkSnapshot1M is an edge's start from its snapshot file with
// 1,000,000 sessions: read, check, fill the set.
func BenchmarkSnapshot1M(b *testing.B) {
	s, _, _ := bigSet(b)
	p := filepath.Join(b.TempDir(), "revoked.snap")
	start := time.Now()
	n, err := writeSnapshot(p, s, 1, time.Now().UnixNano())
	if err != nil {
		b.Fatal(err)
	}
	wrote := time.Since(start)
	st, _ := os.Stat(p)
	b.ReportAllocs()
	for b.Loop() {
		w := NewWatcher(WatcherConfig{Snapshot: p})
		if err := w.LoadSnapshot(); err != nil || w.Len() != n {
			b.Fatalf("load: %d, %v", w.Len(), err)
		}
	}
	b.ReportMetric(float64(wrote.Milliseconds()), "write-ms")
	b.ReportMetric(float64(st.Size())/(1<<20), "file-MiB")
}

// fillBucket writes n revocations into the bucket, as Store.Revoke would,
// with asynchronous publishes.
func fillBucket(b *testing.B, st *natsstore.Store, ids []string) {
	at := time.Now().UTC()
	const window = 4096
	for from := 0; from < len(ids); from += window {
		to := min(from+window, len(ids))
		for _, id := range ids[from:to] {
			v, _ := json.Marshal(Entry{SessionID: id, Type: TypeAuto, Reason: "shared", Score: 0.9, By: "detector", RevokedAt: at})
			if _, err := st.JS.PublishAsync("$KV."+natsstore.BucketRevoked+"."+id, v); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-st.JS.PublishAsyncComplete():
		case <-time.After(time.Minute):
			b.Fatal("publishes not acknowledged")
		}
	}
}

// BenchmarkKV1M: an edge's start from NATS (an embedded node, file
// storage) with 1,000,000 sessions in the bucket, and the Store's
// bucket-wide reads.
func BenchmarkKV1M(b *testing.B) {
	n := scaleN(b)
	srv, nc := natstest.Single(b)
	st, s := openStore(b, nc, natsstore.Limits{RevokedMaxBytes: 4 << 30})
	ids := sessionIDs(n, "k")
	start := time.Now()
	fillBucket(b, st, ids)
	b.Logf("filled %d revocations in %s", n, time.Since(start).Round(time.Millisecond))

	b.Run("watcher-start", func(b *testing.B) {
		for b.Loop() {
			// A connection of its own, as an edge has.
			enc, err := natsstore.ConnectEmbedded(srv, "edge")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			js, err := jetstream.New(enc)
			if err != nil {
				b.Fatal(err)
			}
			kv, err := js.KeyValue(ctx, natsstore.BucketRevoked)
			if err != nil {
				b.Fatal(err)
			}
			w := NewWatcher(WatcherConfig{})
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx, kv) }()
			<-w.Synced()
			b.StopTimer()
			if w.Len() != n {
				b.Fatalf("synced %d of %d", w.Len(), n)
			}
			cancel()
			<-done
			enc.Close()
			b.StartTimer()
		}
	})
	ctx := context.Background()
	b.Run("store-count", func(b *testing.B) {
		for b.Loop() {
			if c, err := s.Count(ctx); c != n || err != nil {
				b.Fatalf("count %d, %v", c, err)
			}
		}
	})
	b.Run("store-list-page-100", func(b *testing.B) {
		for b.Loop() {
			if page, _, err := s.List(ctx, "k8", 100); len(page) != 100 || err != nil {
				b.Fatalf("list %d, %v", len(page), err)
			}
		}
	})
}

// BenchmarkPropagation3Edges: three edges (watchers, each with its own
// connection to its own node of a 3-node cluster, replicas 3); each
// operation is one Store.Revoke, timed from the call's start until all
// three sets hold the id.
func BenchmarkPropagation3Edges(b *testing.B) {
	c := natstest.StartCluster(b, 3)
	limits := natsstore.Limits{Replicas: 3}
	_, s := openStore(b, c.Connect(), limits)
	type seen struct {
		mu sync.Mutex
		at map[string]time.Time
	}
	edges := make([]*seen, 3)
	arrived := make(chan struct{}, 1024)
	for i := range 3 {
		e := &seen{at: map[string]time.Time{}}
		edges[i] = e
		nc, err := natsstore.Connect(natsstore.ConnConfig{URLs: []string{c.URLs()[i]}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(nc.Close)
		w := NewWatcher(WatcherConfig{Applied: func(u Update) {
			now := time.Now()
			e.mu.Lock()
			e.at[u.SessionID] = now
			e.mu.Unlock()
			select {
			case arrived <- struct{}{}:
			default:
			}
		}})
		run(b, w, opener(nc, limits))
		waitClosed(b, "sync", w.Synced())
	}
	ctx := context.Background()
	var lat, ack []time.Duration
	round := time.Now().UnixNano()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("p%d_%d", round, i)
		start := time.Now()
		if _, err := s.Revoke(ctx, Entry{SessionID: id}, 0); err != nil {
			b.Fatal(err)
		}
		ack = append(ack, time.Since(start))
		var last time.Time
		deadline := time.After(30 * time.Second)
		for all := false; !all; {
			all = true
			for _, e := range edges {
				e.mu.Lock()
				at, ok := e.at[id]
				e.mu.Unlock()
				if !ok {
					all = false
					break
				}
				if at.After(last) {
					last = at
				}
			}
			if !all {
				select {
				case <-arrived:
				case <-time.After(time.Millisecond):
				case <-deadline:
					b.Fatalf("%s not at every edge after 30s", id)
				}
			}
		}
		lat = append(lat, last.Sub(start))
	}
	pct := func(d []time.Duration, p float64) float64 {
		d = slices.Clone(d)
		slices.Sort(d)
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(lat, 0.50), "p50-ms")
	b.ReportMetric(pct(lat, 0.99), "p99-ms")
	b.ReportMetric(pct(lat, 1), "max-ms")
	b.ReportMetric(pct(ack, 0.50), "ack-p50-ms")
	b.ReportMetric(pct(ack, 0.99), "ack-p99-ms")
}
