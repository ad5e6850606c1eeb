package accessstream

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/smd-media/smd/internal/natsstore"
)

func recs(from, n int) []record {
	out := make([]record, n)
	for i := range out {
		k := from + i
		out[i] = record{part: k % 16, id: fmt.Sprintf("e:%d", k), data: fmt.Appendf(nil, `{"n":%d}`, k)}
	}
	return out
}

func ids(rs []record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.id
	}
	return out
}

func openTestSpool(t *testing.T, dir string, max, seg int64) *spool {
	t.Helper()
	s, err := openSpool(dir, max, seg, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSpoolReadCommitReopen: records come back in order across segments,
// acknowledged ones are gone after a reopen, unacknowledged ones are read
// again, and acknowledged segments are removed.
func TestSpoolReadCommitReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir, 1<<20, 200) // a few records per segment
	if _, _, err := s.append(recs(0, 50), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.flush(time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := len(segFiles(t, dir)); n < 5 {
		t.Fatalf("%d segments", n)
	}
	got, at, _, err := s.read(20, nil, nil)
	if err != nil || len(got) != 20 || !slices.Equal(ids(got), ids(recs(0, 20))) {
		t.Fatalf("read %v, %v", ids(got), err)
	}
	s.commit(at[14]) // 0..14 acknowledged, 15..19 read but not
	if err := s.close(); err != nil {
		t.Fatal(err)
	}

	s = openTestSpool(t, dir, 1<<20, 200)
	got, _, _, err = s.read(100, nil, nil)
	if err != nil || !slices.Equal(ids(got), ids(recs(15, 35))) {
		t.Fatalf("after reopen: %v, %v", ids(got), err)
	}
	s.resetRead()
	got, at, _, _ = s.read(100, nil, nil)
	if len(got) != 35 {
		t.Fatalf("after reset: %d", len(got))
	}
	s.commit(at[len(at)-1])
	if !s.empty() || s.bytes() != 0 || len(segFiles(t, dir)) != 0 {
		t.Fatalf("all acknowledged: empty %v, %d bytes, files %v", s.empty(), s.bytes(), segFiles(t, dir))
	}
	// A spool emptied and written again.
	if _, _, err := s.append(recs(50, 3), nil); err != nil {
		t.Fatal(err)
	}
	got, _, _, _ = s.read(10, nil, nil)
	if !slices.Equal(ids(got), ids(recs(50, 3))) {
		t.Fatalf("after refill: %v", ids(got))
	}
	s.close()
}

// TestSpoolTornTail: a record cut short by a crash is dropped on opening,
// and what comes after it is written and read normally.
func TestSpoolTornTail(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir, 1<<20, 1<<20)
	s.append(recs(0, 10), nil)
	s.close()
	f := segFiles(t, dir)[0]
	fi, _ := os.Stat(f)
	if err := os.Truncate(f, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	s = openTestSpool(t, dir, 1<<20, 1<<20)
	s.append(recs(10, 2), nil)
	got, _, skipped, err := s.read(100, nil, nil)
	want := append(ids(recs(0, 9)), ids(recs(10, 2))...)
	if err != nil || skipped != 0 || !slices.Equal(ids(got), want) {
		t.Fatalf("got %v (skipped %d, %v), want %v", ids(got), skipped, err, want)
	}
	s.close()
}

// TestSpoolCorruptRecord: a damaged record in a sealed segment costs the
// rest of that segment (counted), not the following segments.
func TestSpoolCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir, 1<<20, 100)
	s.append(recs(0, 20), nil)
	s.close()
	files := segFiles(t, dir)
	b, _ := os.ReadFile(files[0])
	b[len(b)-2] ^= 0xff // the first segment's last record
	os.WriteFile(files[0], b, 0o600)
	s = openTestSpool(t, dir, 1<<20, 100)
	got, _, skipped, err := s.read(100, nil, nil)
	if err != nil || skipped != 1 || len(got) == 0 || got[len(got)-1].id != "e:19" || len(got) >= 20 {
		t.Fatalf("got %v, skipped %d, %v", ids(got), skipped, err)
	}
	s.close()
}

func TestSpoolFull(t *testing.T) {
	s := openTestSpool(t, t.TempDir(), 300, 100)
	n, _, err := s.append(recs(0, 100), nil)
	if !errors.Is(err, errSpoolFull) || n == 0 || n >= 100 || s.bytes() > 300 {
		t.Fatalf("wrote %d, %v, %d bytes", n, err, s.bytes())
	}
	s.close()
}

// natsAway connects to a NATS that is not there (port 1), retrying in the
// background, closed at the end of the test; answered says something did
// answer there.
func natsAway(t *testing.T) (nc *nats.Conn, answered bool) {
	t.Helper()
	nc, err := natsstore.Connect(natsstore.ConnConfig{URLs: []string{"nats://127.0.0.1:1"}, RetryFirst: true, Name: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc, nc.Status() == nats.CONNECTED
}

// TestLogNeverBlocks: with NATS away and a tiny spool and queue, Log keeps
// returning at once; what cannot be kept is dropped and counted, and every
// event is accounted for.
func TestLogNeverBlocks(t *testing.T) {
	nc, answered := natsAway(t)
	if answered {
		t.Skip("something answers NATS on port 1")
	}
	p, stop := startPublisher(t, PublisherConfig{SpoolDir: t.TempDir(), SpoolMaxBytes: 64 << 10, SegmentBytes: 16 << 10, Queue: 64}, nc)
	const n = 20000
	start := time.Now()
	for i := range n {
		p.Log(event(i, "S"))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("%d Log calls took %v", n, d)
	}
	waitFor(t, 10*time.Second, "every event spooled or dropped", func() bool { return p.Spooled()+p.Dropped() == n })
	stop()
	if p.Dropped() == 0 || p.Spooled() == 0 || p.SpoolBytes() > 64<<10 || p.Published() != 0 {
		t.Fatalf("spooled %d, dropped %d, spool %d bytes, published %d", p.Spooled(), p.Dropped(), p.SpoolBytes(), p.Published())
	}
	p.Log(event(n, "S")) // after Run: dropped, no panic
	if p.Dropped()+p.Spooled() != n+1 {
		t.Fatal("an event after Run was not counted")
	}
}

// TestSequenceSurvivesRestart: message id numbers only grow, across
// restarts and across a lost sequence file.
func TestSequenceSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := openSequence(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := s.take()
	if first != uint64(now.UnixMicro()) {
		t.Fatalf("first %d", first)
	}
	var last uint64
	for range 10 {
		last, _ = s.take()
	}
	s2, _ := openSequence(dir, now)
	if n, _ := s2.take(); n <= last {
		t.Fatalf("after restart %d <= %d", n, last)
	}
	os.Remove(filepath.Join(dir, seqFile))
	s3, _ := openSequence(dir, now.Add(time.Hour))
	if n, _ := s3.take(); n <= last {
		t.Fatalf("after losing the file %d <= %d", n, last)
	}
}

// TestSpoolKeepsBatches: a batch comes back from the spool byte for byte,
// with its message id and its number of events; a read stops once it
// holds the events asked for (whole batches, at least one).
func TestSpoolKeepsBatches(t *testing.T) {
	s := openTestSpool(t, t.TempDir(), 1<<20, 1<<20)
	var in []record
	for i := range 4 {
		data := appendBatch(nil, event(3*i, "S"), event(3*i+1, "S"), event(3*i+2, "S"))
		in = append(in, record{part: Partition("S", ""), id: fmt.Sprintf("e1:%d", 100+i), data: data, n: 3})
	}
	if _, _, err := s.append(in, nil); err != nil {
		t.Fatal(err)
	}
	got, _, _, err := s.read(4, nil, nil) // 3 < 4: a second batch
	if err != nil || len(got) != 2 {
		t.Fatalf("read %d batches, %v", len(got), err)
	}
	more, _, _, _ := s.read(1, nil, nil) // at least one
	got = append(got, more...)
	more, _, _, _ = s.read(100, nil, nil)
	got = append(got, more...)
	if len(got) != len(in) {
		t.Fatalf("%d batches back of %d", len(got), len(in))
	}
	for i := range in {
		if got[i].id != in[i].id || got[i].part != in[i].part || got[i].n != 3 || !slices.Equal(got[i].data, in[i].data) {
			t.Fatalf("batch %d: %+v, want %+v", i, got[i], in[i])
		}
	}
	s.close()
}
