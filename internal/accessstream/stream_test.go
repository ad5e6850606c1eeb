package accessstream

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

// testLog shows the components' messages with -v.
func testLog(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

func openStore(t testing.TB, nc *nats.Conn) *natsstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := natsstore.Open(ctx, nc, natsstore.Limits{LeaseTTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// event i of session s; the request id carries i.
func event(i int, session string) *accesslog.Event {
	return &accesslog.Event{
		Time: time.Now(), EdgeID: "e1", RequestID: "r" + strconv.Itoa(i), SessionID: session,
		Verdict: accesslog.VerdictAllow, Status: 200, ViewerIP: "198.51.100.7", Method: "GET",
		UserAgent: "test", OriginPath: "/vod/a/" + strconv.Itoa(i) + ".ts", BytesSent: 2048, Duration: time.Millisecond,
	}
}

func reqIndex(t testing.TB, e *accesslog.Event) int {
	i, err := strconv.Atoi(strings.TrimPrefix(e.RequestID, "r"))
	if err != nil {
		t.Errorf("request id %q", e.RequestID)
	}
	return i
}

// startPublisher runs a publisher until the test ends (or stop is called),
// and returns it with its stop function (which waits for Run).
func startPublisher(t testing.TB, cfg PublisherConfig, nc *nats.Conn) (*Publisher, func()) {
	t.Helper()
	if cfg.EdgeID == "" {
		cfg.EdgeID = "e1"
	}
	if cfg.Log == nil {
		cfg.Log = testLog(t).With("part", "publisher")
	}
	p, err := NewPublisher(cfg, nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("publisher Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return p, stop
}

// collector records what a consumer's handler receives.
type collector struct {
	mu     sync.Mutex
	count  map[string]int // request id -> deliveries
	byPart map[int][]*accesslog.Event
	calls  int
}

func newCollector() *collector {
	return &collector{count: map[string]int{}, byPart: map[int][]*accesslog.Event{}}
}

func (c *collector) handle(p int, e *accesslog.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count[e.RequestID]++
	c.byPart[p] = append(c.byPart[p], e)
	c.calls++
}

func (c *collector) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.count)
}

func (c *collector) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// startConsumer runs a consumer until the test ends or stop is called.
func startConsumer(t testing.TB, cfg ConsumerConfig) (*Consumer, func()) {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = testLog(t).With("part", "consumer")
	}
	c, err := NewConsumer(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
	t.Cleanup(stop)
	return c, stop
}

// waitFor polls cond until it holds, failing the test after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPublishConsumeRoundTrip: events logged at the edge reach the
// consumer's handler once each, decoded as they were logged, on the
// partition of their session.
func TestPublishConsumeRoundTrip(t *testing.T) {
	_, nc := natstest.Single(t)
	st := openStore(t, nc)
	p, _ := startPublisher(t, PublisherConfig{SpoolDir: t.TempDir()}, nc)
	col := newCollector()
	c, _ := startConsumer(t, ConsumerConfig{JS: st.JS, Leases: st.Leases, Handler: col.handle})

	const n = 2000
	sent := map[string]*accesslog.Event{}
	for i := range n {
		e := event(i, "S"+strconv.Itoa(i%37))
		if i%100 == 0 {
			e.SessionID = "" // refused before a token: partition of the request id
		}
		sent[e.RequestID] = e
		p.Log(e)
	}
	waitFor(t, 30*time.Second, "all events delivered", func() bool { return col.distinct() == n })
	if p.Published() != n || p.Spooled() != 0 || p.Dropped() != 0 {
		t.Errorf("published %d, spooled %d, dropped %d", p.Published(), p.Spooled(), p.Dropped())
	}
	if got := c.Owned(); len(got) != natsstore.AccessPartitions {
		t.Errorf("one consumer owns %v", got)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if col.calls != n {
		t.Errorf("%d handler calls for %d events", col.calls, n)
	}
	for part, evs := range col.byPart {
		last := -1
		for _, e := range evs {
			want := sent[e.RequestID]
			if Partition(want.SessionID, want.RequestID) != part {
				t.Errorf("%s on partition %d", e.RequestID, part)
			}
			if d := diffEvents(e, want); d != "" {
				t.Fatalf("%s", d)
			}
			// One edge, one partition: stream order is logging order.
			if i := reqIndex(t, e); i < last {
				t.Errorf("partition %d: %d after %d", part, i, last)
			} else {
				last = i
			}
		}
	}
}

// TestNATSRestartUnderTraffic is the access stream's promise: goroutines
// log events without pause while the NATS server (JetStream on disk) is
// stopped and started again; afterwards every event was delivered, and
// none twice once the consumer drops duplicates by message id.
func TestNATSRestartUnderTraffic(t *testing.T) {
	cl := natstest.StartSingle(t)
	pubConn := cl.Connect()
	st := openStore(t, cl.Connect())
	// A queue that holds a few seconds of traffic: the machine running
	// the test may be slow, and the test wants no event dropped.
	p, _ := startPublisher(t, PublisherConfig{SpoolDir: t.TempDir(), AckTimeout: 2 * time.Second, Batch: 64, MaxPending: 512,
		Queue: 1 << 17, QueueBytes: 256 << 20}, pubConn)
	col := newCollector()
	c, _ := startConsumer(t, ConsumerConfig{JS: st.JS, Leases: st.Leases, Handler: col.handle, AckWait: 2 * time.Second})

	var next atomic.Int64
	stopWriters := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stopWriters:
					return
				default:
				}
				i := int(next.Add(1)) - 1
				p.Log(event(i, fmt.Sprintf("S%d-%d", w, k%50)))
				if k%4 == 0 {
					time.Sleep(time.Millisecond) // at most 16k events/s in all
				}
			}
		}()
	}
	waitFor(t, 30*time.Second, "events published before the stop", func() bool { return p.Published() > 2000 })
	cl.Stop(0)
	spooledAtStop := p.Spooled()
	waitFor(t, 30*time.Second, "events spooled while NATS is down", func() bool { return p.Spooled() > spooledAtStop+3000 })
	publishedDown := p.Published()
	cl.Restart(0)
	waitFor(t, 60*time.Second, "publishing resumed after the restart", func() bool { return p.Published() > publishedDown+5000 })
	close(stopWriters)
	wg.Wait()
	sent := int(next.Load())

	waitFor(t, 60*time.Second, "the spool drained", func() bool {
		if testing.Verbose() && time.Now().UnixMilli()%1000 < 20 {
			t.Logf("sent %d published %d dropped %d spooled %d spool bytes %d failures %d", sent, p.Published(), p.Dropped(), p.Spooled(), p.SpoolBytes(), p.PublishFailures())
		}
		return p.Published()+p.Dropped() >= int64(sent) && p.SpoolBytes() < 1<<20
	})
	if p.Dropped() != 0 {
		t.Fatalf("%d events dropped", p.Dropped())
	}
	waitFor(t, 60*time.Second, fmt.Sprintf("%d distinct events delivered", sent), func() bool { return col.distinct() >= sent })

	// Every message of the stream was delivered: nothing pending.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitFor(t, 30*time.Second, "no event pending", func() bool {
		for n := range natsstore.AccessPartitions {
			cons, err := st.JS.Consumer(ctx, natsstore.StreamAccess, "smd_detect_"+strconv.Itoa(n))
			if err != nil {
				return false
			}
			info, err := cons.Info(ctx)
			if err != nil || info.NumPending != 0 || info.NumAckPending != 0 {
				return false
			}
		}
		return true
	})
	if n := c.Pending(); n != 0 {
		t.Errorf("Pending() = %d once every message is handled", n)
	}
	info, err := st.Access.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	for id, k := range col.count {
		if k != 1 {
			t.Errorf("%s handled %d times", id, k)
		}
	}
	for i := range sent {
		if col.count["r"+strconv.Itoa(i)] == 0 {
			t.Errorf("r%d never delivered", i)
		}
	}
	raw := c.Delivered() + c.Duplicates()
	t.Logf("sent %d; stream holds %d messages; delivered %d + duplicates dropped %d; spooled %d; publish failures %d",
		sent, info.State.Msgs, c.Delivered(), c.Duplicates(), p.Spooled(), p.PublishFailures())
	if len(col.count) != sent || col.calls != sent || c.Delivered() != int64(sent) {
		t.Errorf("sent %d, distinct %d, handler calls %d, delivered %d", sent, len(col.count), col.calls, c.Delivered())
	}
	// Duplicates are redeliveries (acknowledgements lost in the restart)
	// and resends past the stream's duplicate window; the message id
	// catches both.
	if raw-c.Duplicates() != int64(sent) {
		t.Errorf("stream %d messages, raw deliveries %d, duplicates %d, sent %d", info.State.Msgs, raw, c.Duplicates(), sent)
	}
	if p.Spooled() == 0 {
		t.Error("nothing was spooled: the outage was not exercised")
	}
}

// TestSpoolLeftOnDiskIsFlushedFirst: events spooled by a process that
// could not reach NATS are published by the next process on the same
// spool, before its own events, in their order within each partition, in
// batches whose message ids keep growing.
func TestSpoolLeftOnDiskIsFlushedFirst(t *testing.T) {
	cl := natstest.StartSingle(t)
	st := openStore(t, cl.Connect())
	pubConn := cl.Connect()
	dir := t.TempDir()
	cl.Stop(0)
	waitFor(t, 10*time.Second, "the connection noticed", func() bool { return pubConn.Status() != nats.CONNECTED })

	const old, fresh = 3000, 500
	p1, stop1 := startPublisher(t, PublisherConfig{SpoolDir: dir, SegmentBytes: 64 << 10}, pubConn)
	for i := range old {
		p1.Log(event(i, "S"+strconv.Itoa(i%5)))
	}
	waitFor(t, 10*time.Second, "spooled", func() bool { return p1.Spooled() == old })
	stop1()
	if p1.Published() != 0 || p1.Dropped() != 0 {
		t.Fatalf("published %d, dropped %d", p1.Published(), p1.Dropped())
	}
	segs, _ := os.ReadDir(dir)
	t.Logf("spool left: %d files, %d bytes", len(segs), p1.SpoolBytes())
	// The batches as spooled: they must reach the stream byte for byte.
	sp := openTestSpool(t, dir, 1<<30, 64<<10)
	left, _, _, err := sp.read(1<<30, nil, nil)
	if err != nil || events(left) != old {
		t.Fatalf("spool holds %d events in %d batches: %v", events(left), len(left), err)
	}
	spooled := map[string][]byte{}
	for _, r := range left {
		spooled[r.id] = r.data
	}
	sp.close()

	cl.Restart(0)
	waitFor(t, 30*time.Second, "reconnected", func() bool { return pubConn.Status() == nats.CONNECTED })
	p2, _ := startPublisher(t, PublisherConfig{SpoolDir: dir, SegmentBytes: 64 << 10}, pubConn)
	for i := old; i < old+fresh; i++ {
		p2.Log(event(i, "S"+strconv.Itoa(i%5)))
	}
	waitFor(t, 30*time.Second, "all published", func() bool { return p2.Published() == old+fresh })

	// Read the stream back in its order, with the message ids.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	oc, err := st.JS.OrderedConsumer(ctx, natsstore.StreamAccess, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	byPart := map[int][]int{}
	var ids []uint64
	batches := 0
	for len(got) < old+fresh {
		b, err := oc.Fetch(500, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for m := range b.Messages() {
			k++
			batches++
			part, _ := strconv.Atoi(strings.TrimPrefix(m.Subject(), natsstore.AccessSubjectPrefix))
			evs, bad, err := DecodeMessage(m.Headers(), m.Data(), func(e *accesslog.Event) {
				got = append(got, reqIndex(t, e))
				byPart[part] = append(byPart[part], reqIndex(t, e))
				if p := Partition(e.SessionID, e.RequestID); p != part {
					t.Errorf("%s of partition %d in a message of partition %d", e.RequestID, p, part)
				}
			})
			if bad != 0 || err != nil || strconv.Itoa(evs) != m.Headers().Get(HeaderEvents) || m.Headers().Get(HeaderFormat) != FormatBinary {
				t.Fatalf("message of %d events (header %q, format %q): %d bad, %v", evs, m.Headers().Get(HeaderEvents), m.Headers().Get(HeaderFormat), bad, err)
			}
			id := m.Headers().Get(jetstream.MsgIDHeader)
			if data, ok := spooled[id]; ok {
				if !bytes.Equal(data, m.Data()) {
					t.Fatalf("batch %s differs from the spooled one", id)
				}
				delete(spooled, id)
			}
			edge, seq, ok := strings.Cut(id, ":")
			n, err := strconv.ParseUint(seq, 10, 64)
			if !ok || edge != "e1" || err != nil {
				t.Fatalf("message id %q", id)
			}
			ids = append(ids, n)
		}
		if k == 0 {
			t.Fatalf("stream has %d of %d events", len(got), old+fresh)
		}
	}
	// The spooled events first, then the new ones; within a partition,
	// the order they were logged in; every event once.
	if len(got) != old+fresh {
		t.Fatalf("stream holds %d events, want %d", len(got), old+fresh)
	}
	if len(spooled) != 0 {
		t.Fatalf("%d spooled batches not in the stream under their id", len(spooled))
	}
	if i := slices.IndexFunc(got, func(i int) bool { return i >= old }); slices.ContainsFunc(got[i:], func(i int) bool { return i < old }) {
		t.Fatal("a spooled event follows an event of the second process")
	}
	for part, evs := range byPart {
		if !slices.IsSorted(evs) {
			t.Fatalf("partition %d out of order: %v", part, evs)
		}
	}
	if all := slices.Sorted(slices.Values(got)); len(slices.Compact(all)) != old+fresh {
		t.Fatal("events repeated")
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatal("message ids do not grow across the restart")
	}
	if batches >= (old+fresh)/10 {
		t.Errorf("%d messages for %d events: not batched", batches, old+fresh)
	}
	t.Logf("%d events in %d messages", old+fresh, batches)
	if left, _ := os.ReadDir(dir); p2.SpoolBytes() > 64<<10 {
		t.Errorf("spool still holds %d bytes in %d files", p2.SpoolBytes(), len(left))
	}
}

// TestConsumersSharePartitions: two consumers split the 16 partitions,
// each partition delivered to exactly one of them and every event once;
// when one stops, the other takes its partitions over.
func TestConsumersSharePartitions(t *testing.T) {
	_, nc := natstest.Single(t)
	st := openStore(t, nc)
	p, _ := startPublisher(t, PublisherConfig{SpoolDir: t.TempDir()}, nc)
	colA, colB := newCollector(), newCollector()
	a, stopA := startConsumer(t, ConsumerConfig{JS: st.JS, Leases: st.Leases, Handler: colA.handle, Member: "a"})
	waitFor(t, 20*time.Second, "a owns every partition", func() bool { return len(a.Owned()) == natsstore.AccessPartitions })
	b, _ := startConsumer(t, ConsumerConfig{JS: st.JS, Leases: st.Leases, Handler: colB.handle, Member: "b"})
	waitFor(t, 20*time.Second, "a and b own 8 each", func() bool { return len(a.Owned()) == 8 && len(b.Owned()) == 8 })
	ownedA, ownedB := a.Owned(), b.Owned()
	for _, n := range ownedA {
		if slices.Contains(ownedB, n) {
			t.Fatalf("partition %d owned by both: a %v, b %v", n, ownedA, ownedB)
		}
	}

	const n1, n2 = 3000, 3000
	for i := range n1 {
		p.Log(event(i, "S"+strconv.Itoa(i%200)))
	}
	waitFor(t, 30*time.Second, "first events delivered", func() bool { return colA.distinct()+colB.distinct() == n1 })
	for part := range natsstore.AccessPartitions {
		la, lb := len(colA.byPart[part]), len(colB.byPart[part])
		if la > 0 && lb > 0 {
			t.Errorf("partition %d delivered to both (%d, %d)", part, la, lb)
		}
		if (la > 0 && !slices.Contains(ownedA, part)) || (lb > 0 && !slices.Contains(ownedB, part)) {
			t.Errorf("partition %d delivered to a non-owner", part)
		}
	}

	stopA()
	waitFor(t, 20*time.Second, "b takes every partition", func() bool { return len(b.Owned()) == natsstore.AccessPartitions })
	for i := n1; i < n1+n2; i++ {
		p.Log(event(i, "S"+strconv.Itoa(i%200)))
	}
	waitFor(t, 30*time.Second, "all events delivered", func() bool { return colA.distinct()+colB.distinct() == n1+n2 })
	for _, col := range []*collector{colA, colB} {
		col.mu.Lock()
		for id, k := range col.count {
			if k != 1 {
				t.Errorf("%s delivered %d times", id, k)
			}
		}
		col.mu.Unlock()
	}
	colA.mu.Lock()
	colB.mu.Lock()
	defer colA.mu.Unlock()
	defer colB.mu.Unlock()
	for id := range colA.count {
		if colB.count[id] > 0 {
			t.Errorf("%s delivered to both", id)
		}
	}
	for _, part := range ownedA {
		late := 0
		for _, e := range colB.byPart[part] {
			if reqIndex(t, e) >= n1 {
				late++
			}
		}
		if late == 0 && len(colA.byPart[part]) > 0 {
			t.Errorf("partition %d of a: no later event reached b", part)
		}
	}
	if colA.calls+colB.calls != n1+n2 || a.Duplicates()+b.Duplicates() != 0 {
		t.Errorf("calls %d+%d, duplicates %d+%d", colA.calls, colB.calls, a.Duplicates(), b.Duplicates())
	}
}
