package accessstream

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

// BenchmarkPublisherLog is the access stream's cost on the request path:
// one Log call per request, from parallel goroutines, while the publisher
// encodes and publishes to an in-process NATS server in the background
// (its work shows in the other cores' time, not in ns/op). Events the
// queue cannot take are dropped, never waited for; the dropped share is
// reported.
func BenchmarkPublisherLog(b *testing.B) {
	_, nc := natstest.Single(b)
	openStore(b, nc)
	p, stop := startPublisher(b, PublisherConfig{SpoolDir: b.TempDir()}, nc)
	e := event(1, "session-0123456789abcdef")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p.Log(e)
		}
	})
	b.StopTimer()
	stop()
	b.ReportMetric(float64(p.Dropped())/float64(b.N), "dropped/op")
}

// BenchmarkPublisherLogAccepted is Log's cost when the queue takes the
// event (BenchmarkPublisherLog mostly measures the queue full): one
// goroutine, the queue emptied every 4096 events as Run would.
func BenchmarkPublisherLogAccepted(b *testing.B) {
	_, nc := natstest.Single(b)
	p, err := NewPublisher(PublisherConfig{EdgeID: "e1", SpoolDir: b.TempDir(), Log: testLog(b)}, nc)
	if err != nil {
		b.Fatal(err)
	}
	e := event(1, "session-0123456789abcdef")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Log(e)
		if i%4096 == 4095 {
			p.collect(false, true)
			p.clearTail()
		}
	}
	if p.Dropped() > 0 {
		b.Fatalf("%d dropped", p.Dropped())
	}
}

// BenchmarkPublisherThroughput is the whole cost of an event, Log to the
// stream's acknowledgement: one goroutine logs, pacing itself so that
// nothing is dropped. cpu-ns/event is the process's CPU time per event:
// with the in-process NATS server, the server's share is in it; with
// SMD_BENCH_NATS_URL set (a nats-server with JetStream in another process)
// it is what publishing costs an edge. One session: every event on one
// partition, batches full at once.
func BenchmarkPublisherThroughput(b *testing.B) { publisherThroughput(b, 1, 2048) }

// BenchmarkPublisherThroughputSessions is the same with the events of
// 1,000 sessions, spread over the 16 partitions: 16 batches fill at once.
func BenchmarkPublisherThroughputSessions(b *testing.B) { publisherThroughput(b, 1000, 4096) }

// publisherThroughput logs events of the given number of sessions, never
// more than lag ahead of the acknowledgements.
func publisherThroughput(b *testing.B, sessions, lag int) {
	var nc *nats.Conn
	if url := os.Getenv("SMD_BENCH_NATS_URL"); url != "" {
		var err error
		if nc, err = natsstore.Connect(natsstore.ConnConfig{URLs: []string{url}, Name: b.Name()}); err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
	} else {
		_, nc = natstest.Single(b)
	}
	openStore(b, nc)
	p, stop := startPublisher(b, PublisherConfig{SpoolDir: b.TempDir()}, nc)
	defer stop()
	evs := make([]*accesslog.Event, sessions)
	for i := range evs {
		evs[i] = event(i, "session-0123456789abcdef-"+strconv.Itoa(i))
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	start := time.Now()
	b.ResetTimer()
	for i := range b.N {
		p.Log(evs[i%sessions])
		if i%1024 == 1023 {
			for p.Published() < int64(i-lag) {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}
	for p.Published()+p.Dropped() < int64(b.N) {
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/event")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	if p.Dropped() > 0 || p.Spooled() > 0 {
		b.Fatalf("dropped %d, spooled %d", p.Dropped(), p.Spooled())
	}
}

// BenchmarkLogParallel is Log from a goroutine per core, events of 1,000
// sessions (so over every partition), while another goroutine takes the
// sealed batches every millisecond as Run would (and discards them): the
// intake's locks under contention, without NATS. On this 2-core machine a
// single lock and a lock per partition measure the same; the per-partition
// locks are for many-core edges, where one lock held about 0.3 µs per
// event (measured in bench/publish.sh's profile) would be busy most of
// the time at a few million events a second.
func BenchmarkLogParallel(b *testing.B) {
	_, nc := natstest.Single(b)
	p, err := NewPublisher(PublisherConfig{EdgeID: "e1", SpoolDir: b.TempDir(), Queue: 1 << 22, QueueBytes: 1 << 30, Log: testLog(b)}, nc)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.sp.close() })
	evs := make([]*accesslog.Event, 1000)
	for i := range evs {
		evs[i] = event(i, "session-"+strconv.Itoa(i))
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				p.collect(false, false)
				p.clearTail()
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			p.Log(evs[i%len(evs)])
		}
	})
	b.StopTimer()
	close(stop)
	<-done
	b.ReportMetric(float64(p.Dropped())/float64(b.N), "dropped/op")
}
