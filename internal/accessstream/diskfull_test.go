package accessstream

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestFaultsSpoolDiskFull: with NATS away and the spool's disk full (its
// segments written to /dev/full, which fails every write with ENOSPC as a
// full file system does), Log never blocks, nothing panics, the events
// that cannot be kept are counted dropped, the spool errors are counted,
// and the log says what happened, a few times, not once per event; once
// the disk has room again, the spool takes events again.
func TestFaultsSpoolDiskFull(t *testing.T) {
	saved := openSegment
	var full atomic.Bool
	full.Store(true)
	openSegment = func(path string) (*os.File, error) {
		if full.Load() {
			return os.OpenFile("/dev/full", os.O_WRONLY, 0)
		}
		return saved(path)
	}
	defer func() { openSegment = saved }()

	nc, answered := natsAway(t)
	if answered {
		t.Fatal("something answers NATS on port 1")
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	p, err := NewPublisher(PublisherConfig{EdgeID: "e1", SpoolDir: t.TempDir(), SpoolMaxBytes: 64 << 20, SegmentBytes: 16 << 10, Queue: 256, Log: log}, nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	const n = 20000
	start := time.Now()
	for i := range n {
		p.Log(event(i, "S"))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("%d Log calls took %v", n, d)
	}
	kept := func() int64 { return p.Spooled() - p.SpoolLost() }
	waitFor(t, 20*time.Second, "every event spooled or dropped", func() bool { return p.Spooled()+p.Dropped()-p.SpoolLost() == n })
	if kept() != 0 {
		t.Errorf("%d events counted kept on a disk that takes nothing", kept())
	}
	// Room again: the spool takes events again, in a new segment.
	full.Store(false)
	for i := range 1000 {
		p.Log(event(n+i, "S"))
	}
	waitFor(t, 20*time.Second, "the next events spooled", func() bool { return p.Spooled()+p.Dropped()-p.SpoolLost() == n+1000 && kept() > 0 })
	cancel()
	// Run ends; what it could not write at the end it says, in words.
	if err := <-done; err != nil && !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("Run: %v", err)
	}
	if p.SpoolErrors() == 0 {
		t.Error("no spool error counted")
	}
	if p.Dropped() == 0 {
		t.Errorf("nothing dropped on a full disk: spooled %d", p.Spooled())
	}
	out := logs.String()
	if !strings.Contains(out, "no space left on device") {
		t.Errorf("the log does not say the disk is full:\n%.2000s", out)
	}
	if c := strings.Count(out, "level=ERROR"); c > 10 {
		t.Errorf("%d error lines for one full disk", c)
	}
}
