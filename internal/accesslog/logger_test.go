package accesslog

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoggerWritesJSONLines(t *testing.T) {
	var buf syncBuffer
	l := New(&buf, 16, slog.New(slog.NewTextHandler(io.Discard, nil)))
	at := time.Date(2026, 11, 22, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	for i := 0; i < 3; i++ {
		l.Log(&Event{Time: at, EdgeID: "e1", SessionID: "S1", Verdict: VerdictAllow, Status: 200,
			ViewerIP: "198.51.100.10", Method: "GET", OriginPath: "/vod/a<b>.ts", BytesSent: 1024, Duration: 1500 * time.Microsecond})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || l.Written() != 3 || l.Dropped() != 0 {
		t.Fatalf("%d lines, %d written, %d dropped:\n%s", len(lines), l.Written(), l.Dropped(), buf.String())
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"time": "2026-11-22T11:00:00Z", "edge_id": "e1", "session_id": "S1", "verdict": "allow",
		"status": 200.0, "origin_path": "/vod/a<b>.ts", "bytes_sent": 1024.0, "duration_ms": 1.5, "method": "GET"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, ok := got["kid"]; ok {
		t.Error("empty kid written")
	}
}

// TestLogNeverBlocks: a stuck writer fills the queue; Log keeps returning
// and counts the drops.
func TestLogNeverBlocks(t *testing.T) {
	w := &blockingWriter{release: make(chan struct{}), entered: make(chan struct{})}
	l := New(w, 4, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// The first event gets the writer stuck in Write; after that the
	// queue of 4 is all there is (how many the writer took before it
	// stuck depended on scheduling, and a loaded CI machine let 23 in).
	l.Log(&Event{Method: "GET"})
	select {
	case <-w.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer never wrote")
	}
	done := make(chan struct{})
	go func() {
		for i := 1; i < 1000; i++ {
			l.Log(&Event{Method: "GET"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Log blocked behind a stuck writer")
	}
	if l.Dropped() < 999-4 {
		t.Fatalf("dropped %d of 1000 with a queue of 4", l.Dropped())
	}
	close(w.release)
	l.Close()
	if got := l.Written() + l.Dropped() + l.Failed(); got != 1000 {
		t.Fatalf("written+dropped+failed = %d, want 1000", got)
	}
	l.Log(&Event{}) // after Close: dropped, no panic
}

func TestWriteErrorsAreCounted(t *testing.T) {
	l := New(failingWriter{}, 8, slog.New(slog.NewTextHandler(io.Discard, nil)))
	l.Log(&Event{})
	l.Log(&Event{})
	l.Close()
	if l.Failed() != 2 || l.Written() != 0 {
		t.Fatalf("failed %d, written %d", l.Failed(), l.Written())
	}
}

func TestRotatingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access.log")
	l := New(OpenFile(FileConfig{Path: p, MaxBytes: 1 << 20, MaxBackups: 2}), 64, slog.Default())
	l.Log(&Event{Method: "HEAD", Status: 200})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	if !s.Scan() || !strings.Contains(s.Text(), `"method":"HEAD"`) {
		t.Fatalf("file holds %q", s.Text())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type blockingWriter struct {
	release chan struct{}
	entered chan struct{} // closed when the first Write starts
	once    sync.Once
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	if b.entered != nil {
		b.once.Do(func() { close(b.entered) })
	}
	<-b.release
	return len(p), nil
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
