package accessexport

import (
	"bufio"
	"compress/gzip"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/accessstream"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

func testLog(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil)).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// clock is a settable clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func newClock(t time.Time) *clock    { c := &clock{}; c.set(t); return c }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

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

func setup(t *testing.T) (*natsstore.Store, *nats.Conn) {
	_, nc := natstest.Single(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := natsstore.Open(ctx, nc, natsstore.Limits{LeaseTTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return st, nc
}

// publish sends events through a real publisher and waits for them.
func publish(t *testing.T, nc *nats.Conn, evs []*accesslog.Event) {
	t.Helper()
	p, err := accessstream.NewPublisher(accessstream.PublisherConfig{EdgeID: "e1", SpoolDir: t.TempDir()}, nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	for _, e := range evs {
		p.Log(e)
	}
	waitFor(t, 30*time.Second, "published", func() bool { return p.Published() == int64(len(evs)) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func startExporter(t *testing.T, st *natsstore.Store, dir, node string, clk *clock) (*Exporter, func()) {
	t.Helper()
	x, err := New(context.Background(), Config{Dir: dir, Node: node, JS: st.JS, Leases: st.Leases, Now: clk.now, Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- x.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return x, stop
}

// readExport reads every closed file: request id -> number of times seen,
// and checks that each event sits in its hour's partition. With closed, it
// fails on a temporary file left behind.
func readExport(t *testing.T, dir string, closed bool) map[string]int {
	t.Helper()
	seen := map[string]int{}
	files, err := filepath.Glob(filepath.Join(dir, "dt=*", "hour=*", "*.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sc := bufio.NewScanner(zr)
		for sc.Scan() {
			e, err := accesslog.DecodeEvent(sc.Bytes())
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			want := filepath.Join(dir, partitionDir(e.Time.Truncate(time.Hour)))
			if filepath.Dir(name) != want {
				t.Errorf("%s (time %v) in %s", e.RequestID, e.Time, name)
			}
			seen[e.RequestID]++
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := zr.Close(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f.Close()
	}
	tmp, _ := filepath.Glob(filepath.Join(dir, "dt=*", "hour=*", ".*"))
	if closed && len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	return seen
}

func events(from, n int, start time.Time, step time.Duration) []*accesslog.Event {
	out := make([]*accesslog.Event, n)
	for i := range out {
		k := from + i
		out[i] = &accesslog.Event{Time: start.Add(time.Duration(i) * step), EdgeID: "e1", RequestID: "r" + strconv.Itoa(k),
			SessionID: "S" + strconv.Itoa(k%7), Verdict: "allow", Status: 200, ViewerIP: "198.51.100.1", Method: "GET",
			UserAgent: "ua", OriginPath: "/v/" + strconv.Itoa(k) + ".ts", BytesSent: 4096, Duration: time.Millisecond}
	}
	return out
}

// TestExportTwoHours: events spanning two hours land in two hourly
// partitions, each exactly once, in files that appear only when complete;
// a second writer after the first stopped adds the new events only.
func TestExportTwoHours(t *testing.T) {
	st, nc := setup(t)
	base := time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)
	const n = 1200
	publish(t, nc, events(0, n, base, 3*time.Second)) // 10:30 to 11:29:57

	dir := t.TempDir()
	clk := newClock(base.Add(2 * time.Hour)) // 12:30: both hours are over
	x, stop := startExporter(t, st, dir, "ctl-a", clk)
	waitFor(t, 30*time.Second, "all events read", func() bool { return x.Read() == n })
	if got := readExport(t, dir, false); len(got) != 0 {
		t.Fatalf("files visible before closing: %d events", len(got))
	}
	clk.add(2*time.Minute + time.Second) // past the grace of files opened at 12:30
	waitFor(t, 30*time.Second, "files closed", func() bool { return x.Exported() == n })
	got := readExport(t, dir, true)
	for i := range n {
		if k := got["r"+strconv.Itoa(i)]; k != 1 {
			t.Errorf("r%d exported %d times", i, k)
		}
	}
	hours, _ := filepath.Glob(filepath.Join(dir, "dt=2026-11-22", "hour=*"))
	if len(hours) != 2 || x.Files() != 2 {
		t.Fatalf("partitions %v, %d files", hours, x.Files())
	}
	stop()

	// Another control plane takes over from the checkpoint: only the new
	// events, late ones for hour 11 in a new file of that hour.
	publish(t, nc, events(n, 100, base.Add(50*time.Minute), time.Second)) // 11:20 to 11:21:39
	y, _ := startExporter(t, st, dir, "ctl-b", clk)
	waitFor(t, 30*time.Second, "new events read", func() bool { return y.Read() == 100 })
	clk.add(3 * time.Minute)
	waitFor(t, 30*time.Second, "new file closed", func() bool { return y.Exported() == 100 })
	got = readExport(t, dir, true)
	if len(got) != n+100 {
		t.Fatalf("%d distinct events exported, want %d", len(got), n+100)
	}
	for id, k := range got {
		if k != 1 {
			t.Errorf("%s exported %d times", id, k)
		}
	}
	late, _ := filepath.Glob(filepath.Join(dir, "dt=2026-11-22", "hour=11", "ctl-b-*.json.gz"))
	if len(late) != 1 {
		t.Fatalf("late file: %v", late)
	}
}

// TestExportCloseOnStop: a writer that stops closes its open files and
// moves the checkpoint, so the next one neither loses nor repeats events.
func TestExportCloseOnStop(t *testing.T) {
	st, nc := setup(t)
	now := time.Now().UTC()
	publish(t, nc, events(0, 50, now.Add(-time.Minute), time.Millisecond))
	dir := t.TempDir()
	clk := newClock(now)
	x, stop := startExporter(t, st, dir, "a", clk)
	waitFor(t, 30*time.Second, "read", func() bool { return x.Read() == 50 })
	stop()
	if x.Exported() != 50 {
		t.Fatalf("exported %d on stop", x.Exported())
	}
	publish(t, nc, events(50, 30, now, time.Millisecond))
	y, stopY := startExporter(t, st, dir, "b", clk)
	waitFor(t, 30*time.Second, "read", func() bool { return y.Read() == 30 })
	stopY()
	got := readExport(t, dir, true)
	if len(got) != 80 || y.Skipped() != 0 {
		t.Fatalf("%d events exported, %d skipped", len(got), y.Skipped())
	}
	for id, k := range got {
		if k != 1 {
			t.Errorf("%s exported %d times", id, k)
		}
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "dt=*", "hour=*", "*.json.gz")); len(names) < 2 || !strings.Contains(strings.Join(names, " "), "/b-") {
		t.Fatalf("files %v", names)
	}
}

// fakeMsg is a message of the stream, for the writer without a server.
type fakeMsg struct {
	jetstream.Msg
	seq  uint64
	h    nats.Header
	data []byte
}

func (m *fakeMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{Sequence: jetstream.SequencePair{Stream: m.seq}}, nil
}
func (m *fakeMsg) Headers() nats.Header { return m.h }
func (m *fakeMsg) Data() []byte         { return m.data }

// batchMsg is the message at stream sequence seq holding evs as an edge
// publishes them; a nil event stands for a line that is not an event.
func batchMsg(seq uint64, evs ...*accesslog.Event) *fakeMsg {
	var b []byte
	for _, e := range evs {
		if e == nil {
			b = append(b, "{not an event\n"...)
			continue
		}
		b = append(accesslog.AppendEvent(b, e), '\n')
	}
	return &fakeMsg{seq: seq, data: b, h: nats.Header{
		jetstream.MsgIDHeader:     []string{"e1:" + strconv.FormatUint(seq, 10)},
		accessstream.HeaderFormat: []string{accessstream.FormatBatch},
		accessstream.HeaderEvents: []string{strconv.Itoa(len(evs))},
	}}
}

// TestExportBatchAcrossHours: a batch whose events straddle an hour's end
// puts each event in its hour's file; when the first hour's file is closed
// and the writer dies before the second's is, the checkpoint (stream
// sequences of messages) stays before the batch, and the next writer
// writes only the batch's events of the second hour: every event once.
// A line that is not an event is counted, the others exported.
func TestExportBatchAcrossHours(t *testing.T) {
	dir := t.TempDir()
	clk := newClock(time.Date(2026, 11, 22, 11, 0, 30, 0, time.UTC)) // hour 10 closes at 11:02:30
	x := &Exporter{cfg: Config{Dir: dir, Node: "a", Grace: 2 * time.Minute, Now: clk.now, Log: testLog(t)}}
	evs := events(0, 5, time.Date(2026, 11, 22, 10, 59, 58, 0, time.UTC), time.Second) // 10:59:58 to 11:00:02
	msgs := []*fakeMsg{batchMsg(1, evs[0], evs[1], nil, evs[2], evs[3]), batchMsg(2, evs[4])}

	w1 := &writer{x: x, open: map[string]*hourFile{}, seen: newRecent(16)}
	for _, m := range msgs {
		w1.add(m)
	}
	if w1.err != nil || x.Read() != 6 || x.Invalid() != 1 || len(w1.open) != 2 {
		t.Fatalf("err %v, read %d, invalid %d, %d files open", w1.err, x.Read(), x.Invalid(), len(w1.open))
	}
	clk.set(time.Date(2026, 11, 22, 11, 2, 31, 0, time.UTC)) // hour 10's grace is over, not hour 11's
	now := clk.now()
	w1.closeFiles(func(hf *hourFile) bool { return !now.Before(hf.deadline) })
	w1.advance()
	if w1.err != nil || w1.cp.Seq != 0 || w1.cp.Hours["2026-11-22T10"] != 1 || len(w1.cp.Hours) != 1 {
		t.Fatalf("checkpoint %+v, err %v", w1.cp, w1.err)
	}
	for _, hf := range w1.open { // the writer dies
		hf.abort()
	}

	w2 := &writer{x: x, cp: w1.cp, open: map[string]*hourFile{}, last: w1.cp.Seq, seen: newRecent(16)}
	for _, m := range msgs {
		w2.add(m)
	}
	w2.closeFiles(func(*hourFile) bool { return true })
	w2.advance()
	if w2.err != nil || w2.cp.Seq != 2 || len(w2.cp.Hours) != 0 || x.Skipped() != 2 {
		t.Fatalf("checkpoint %+v, skipped %d, err %v", w2.cp, x.Skipped(), w2.err)
	}
	got := readExport(t, dir, true)
	for i := range evs {
		if k := got["r"+strconv.Itoa(i)]; k != 1 {
			t.Errorf("r%d exported %d times", i, k)
		}
	}
	if len(got) != len(evs) || x.Exported() != int64(len(evs)) {
		t.Fatalf("exported %v (%d)", got, x.Exported())
	}

	// The same batch stored again (an edge's resend after the stream's
	// duplicate window): dropped by its message id.
	before := x.Skipped()
	resent := *msgs[1]
	resent.seq = 3
	w2.add(&resent)
	if x.Skipped() != before+1 || len(w2.open) != 0 {
		t.Fatalf("a resent batch was not skipped: skipped %d, open %d", x.Skipped()-before, len(w2.open))
	}
}
