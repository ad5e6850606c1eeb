package accessstream

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

// streamMsg is a message read back from the stream.
type streamMsg struct {
	part int
	id   string
	n    int // Smd-Events
	size int
	reqs []string
}

// readStream returns the stream's messages, in order, until it holds
// want events.
func readStream(t *testing.T, st *natsstore.Store, want int) []streamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	oc, err := st.JS.OrderedConsumer(ctx, natsstore.StreamAccess, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []streamMsg
	for got := 0; got < want; {
		b, err := oc.Fetch(100, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for m := range b.Messages() {
			k++
			sm := streamMsg{id: m.Headers().Get(jetstream.MsgIDHeader), size: len(m.Data())}
			sm.part, _ = strconv.Atoi(strings.TrimPrefix(m.Subject(), natsstore.AccessSubjectPrefix))
			sm.n, _ = strconv.Atoi(m.Headers().Get(HeaderEvents))
			ok, bad, err := DecodeMessage(m.Headers(), m.Data(), func(e *accesslog.Event) { sm.reqs = append(sm.reqs, e.RequestID) })
			if bad != 0 || ok != sm.n || m.Headers().Get(HeaderFormat) != FormatBinary {
				t.Fatalf("message %s: %d events, %d bad (%v), headers %v", sm.id, ok, bad, err, m.Headers())
			}
			got += ok
			out = append(out, sm)
		}
		if k == 0 {
			t.Fatalf("stream holds %d of %d events", got, want)
		}
	}
	return out
}

// TestPublisherBatches: a partition's events go in messages of at most
// Batch events and BatchBytes bytes (a larger event alone), the rest after
// Linger; message ids grow in stream order.
func TestPublisherBatches(t *testing.T) {
	_, nc := natstest.Single(t)
	st := openStore(t, nc)
	p, _ := startPublisher(t, PublisherConfig{SpoolDir: t.TempDir(), Batch: 10, BatchBytes: 4096, Linger: 50 * time.Millisecond}, nc)

	// One session: 10, 10, then 5 after the linger.
	for i := range 25 {
		p.Log(event(i, "A"))
	}
	waitFor(t, 10*time.Second, "published", func() bool { return p.Published() == 25 })
	// Large events: at most 4096 bytes a message, at least two events
	// each; one larger than that alone.
	big := strings.Repeat("u", 1500)
	for i := 25; i < 35; i++ {
		e := event(i, "B")
		e.UserAgent = big
		if i == 30 {
			e.UserAgent = strings.Repeat("x", 5000)
		}
		p.Log(e)
	}
	waitFor(t, 10*time.Second, "published", func() bool { return p.Published() == 35 })

	msgs := readStream(t, st, 35)
	var counts []int
	var ids []uint64
	for _, m := range msgs {
		counts = append(counts, m.n)
		n, err := strconv.ParseUint(strings.TrimPrefix(m.id, "e1:"), 10, 64)
		if err != nil {
			t.Fatalf("message id %q", m.id)
		}
		ids = append(ids, n)
		if m.n > 1 && m.size > 4096 {
			t.Errorf("message %s of %d events holds %d bytes", m.id, m.n, m.size)
		}
	}
	if !slices.Equal(counts[:3], []int{10, 10, 5}) || msgs[0].part != Partition("A", "") {
		t.Errorf("session A in messages of %v events", counts[:3])
	}
	if !slices.Equal(counts[3:], []int{2, 2, 1, 1, 2, 2}) {
		t.Errorf("large events in messages of %v events", counts[3:])
	}
	if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Errorf("message ids %v do not grow", ids)
	}
}

// TestQueueFullDropsBatches: sealed batches that the publishing goroutine
// has not taken are bounded by Queue; a batch sealed past it is dropped
// whole and counted, and room comes back once the goroutine takes them.
func TestQueueFullDropsBatches(t *testing.T) {
	_, nc := natstest.Single(t)
	p, err := NewPublisher(PublisherConfig{EdgeID: "e1", SpoolDir: t.TempDir(), Batch: 10, Queue: 25, Log: testLog(t)}, nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.sp.close() })
	for i := range 40 { // Run is not running: nothing takes the batches
		p.Log(event(i, "S"))
	}
	if p.Dropped() != 20 {
		t.Fatalf("dropped %d, want the 20 events of the third and fourth batches", p.Dropped())
	}
	p.collect(false, false)
	if len(p.tail) != 2 || p.tailEvents != 20 {
		t.Fatalf("taken: %d batches, %d events", len(p.tail), p.tailEvents)
	}
	for i := range 10 {
		p.Log(event(40+i, "S"))
	}
	p.collect(false, false)
	if p.Dropped() != 20 || p.tailEvents != 30 {
		t.Fatalf("after taking: dropped %d, %d events taken", p.Dropped(), p.tailEvents)
	}
}

// TestOversizedEventDropped: an event whose encoding passes 256 KiB is
// dropped and counted (it could not fit a NATS message); the events
// around it are published.
func TestOversizedEventDropped(t *testing.T) {
	_, nc := natstest.Single(t)
	openStore(t, nc)
	p, _ := startPublisher(t, PublisherConfig{SpoolDir: t.TempDir(), Linger: 10 * time.Millisecond}, nc)
	p.Log(event(0, "S"))
	big := event(1, "S")
	big.UserAgent = strings.Repeat("u", maxEventBytes)
	p.Log(big)
	p.Log(event(2, "S"))
	waitFor(t, 10*time.Second, "two events published", func() bool { return p.Published() == 2 })
	if p.Dropped() != 1 {
		t.Fatalf("dropped %d, want 1", p.Dropped())
	}
}

// TestLingerPublishesAQuietEdge: a lone event does not wait for its batch
// to fill: it is published after the linger.
func TestLingerPublishesAQuietEdge(t *testing.T) {
	_, nc := natstest.Single(t)
	openStore(t, nc)
	p, _ := startPublisher(t, PublisherConfig{SpoolDir: t.TempDir(), Linger: 30 * time.Millisecond}, nc)
	for round := range 3 {
		start := time.Now()
		p.Log(event(round, "quiet"))
		waitFor(t, 5*time.Second, "the event published", func() bool { return p.Published() == int64(round+1) })
		t.Logf("published after %v", time.Since(start))
	}
}

// TestConsumerBadLines: the consumer hands over the valid events of a
// batch and counts the others; a message in an unknown format is counted
// and terminated; a message of format 1 (one event, no headers) is read.
func TestConsumerBadLines(t *testing.T) {
	_, nc := natstest.Single(t)
	st := openStore(t, nc)
	col := newCollector()
	c, _ := startConsumer(t, ConsumerConfig{JS: st.JS, Leases: st.Leases, Handler: col.handle})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	subj := Subject(Partition("S", ""))
	pub := func(id string, h nats.Header, body []byte) {
		t.Helper()
		if h == nil {
			h = nats.Header{}
		}
		h.Set(jetstream.MsgIDHeader, id)
		if _, err := st.JS.PublishMsg(ctx, &nats.Msg{Subject: subj, Header: h, Data: body}); err != nil {
			t.Fatal(err)
		}
	}
	pub("x:1", batchHeader(3), appendBatch(nil, event(0, "S"), nil, event(2, "S")))
	pub("x:2", nats.Header{HeaderFormat: []string{"9"}, HeaderEvents: []string{"4"}}, []byte("future\n"))
	pub("x:3", nil, accesslog.AppendEvent(nil, event(3, "S")))
	pub("x:1", batchHeader(3), appendBatch(nil, event(0, "S"), nil, event(2, "S"))) // dropped by the stream
	waitFor(t, 20*time.Second, "events delivered", func() bool { return col.total() >= 3 && c.Invalid() >= 5 })
	time.Sleep(200 * time.Millisecond)
	col.mu.Lock()
	defer col.mu.Unlock()
	if col.calls != 3 || col.count["r0"] != 1 || col.count["r2"] != 1 || col.count["r3"] != 1 || c.Invalid() != 5 {
		t.Fatalf("delivered %v, invalid %d", col.count, c.Invalid())
	}
}
