package revocation

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseFile(t *testing.T) {
	ids, err := ParseFile([]byte("# revoked by ops\nSess1onAbc123\n\n  abc_DEF  shared on a forum\n" + strings.Repeat("x", 200) + "\n"))
	if err != nil || len(ids) != 3 || ids[1] != "abc_DEF" {
		t.Fatalf("%q, %v", ids, err)
	}
	for _, bad := range []string{"a-b\n", "a.b\n", strings.Repeat("x", 201) + "\n", "é\n"} {
		if _, err := ParseFile([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSet(t *testing.T) {
	s := NewSet("a", "b")
	if !s.Revoked("a") || s.Revoked("c") || s.Revoked("") || s.Len() != 2 {
		t.Fatal("wrong membership")
	}
	s.Replace([]string{"c"})
	if s.Revoked("a") || !s.Revoked("c") {
		t.Fatal("replace failed")
	}
}

func TestFileWatcher(t *testing.T) {
	p := filepath.Join(t.TempDir(), "revoked.txt")
	if err := os.WriteFile(p, []byte("one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := &FileWatcher{Path: p, Interval: time.Millisecond, Set: NewSet(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := w.Load(); err != nil || !w.Set.Revoked("one") {
		t.Fatalf("load: %v", err)
	}
	write := func(body string, mod time.Time) {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mod, mod)
	}
	write("one\ntwo\n", time.Now().Add(time.Hour))
	w.poll(false)
	if !w.Set.Revoked("two") {
		t.Fatal("change not picked up")
	}
	// An invalid edit or a removed file keeps the last good set.
	write("one\ntwo\nbad-id\n", time.Now().Add(2*time.Hour))
	w.poll(false)
	os.Remove(p)
	w.poll(false)
	if !w.Set.Revoked("two") || w.Set.Len() != 2 {
		t.Fatal("invalid file changed the set")
	}
	// Run stops with its context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSetAddRemoveExpiry(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := NewSet()
	s.now = func() time.Time { return now }
	s.Add("forever", time.Time{})
	s.Add("hour", now.Add(time.Hour))
	s.Add("past", now.Add(-time.Nanosecond))
	s.Add("far", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)) // beyond Unix nanoseconds: no expiry
	s.Add("ancient", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		id   string
		want bool
	}{{"forever", true}, {"hour", true}, {"past", false}, {"far", true}, {"ancient", false}, {"other", false}, {"", false}} {
		if got := s.Revoked(tc.id); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.id, got, tc.want)
		}
	}
	if s.Len() != 5 {
		t.Fatalf("len %d", s.Len())
	}
	// Adding again replaces the expiry and does not count twice.
	s.Add("past", time.Time{})
	if !s.Revoked("past") || s.Len() != 5 {
		t.Fatal("re-add")
	}
	now = now.Add(2 * time.Hour)
	if s.Revoked("hour") {
		t.Fatal("expired entry still counts")
	}
	if n := s.sweepExpired(); n != 2 || s.Len() != 3 { // hour, ancient
		t.Fatalf("sweep dropped %d, len %d", n, s.Len())
	}
	if !s.Remove("forever") || s.Remove("forever") || s.Revoked("forever") || s.Len() != 2 {
		t.Fatal("remove")
	}
	s.Replace([]string{"x", "y", "z"})
	if s.Len() != 3 || s.Revoked("far") || !s.Revoked("y") {
		t.Fatal("replace")
	}
}

// TestSetConcurrent reads ids that never change while a writer churns
// others (run with -race).
func TestSetConcurrent(t *testing.T) {
	s := NewSet()
	for i := range 1000 {
		s.Add(fmt.Sprintf("stable%d", i), time.Time{})
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("churn%d", i%5000)
			if i%2 == 0 {
				s.Add(id, time.Time{})
			} else {
				s.Remove(id)
			}
		}
	}()
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20000 {
				if !s.Revoked(fmt.Sprintf("stable%d", (i+r)%1000)) || s.Revoked(fmt.Sprintf("never%d", i)) {
					t.Error("wrong answer under concurrent writes")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-done
	if s.Len() < 1000 {
		t.Fatalf("len %d", s.Len())
	}
}

// TestSetCoarseClock: without an injected clock, expiries follow the
// coarse clock, which advances.
func TestSetCoarseClock(t *testing.T) {
	s := NewSet()
	now := time.Now()
	s.Add("hour", now.Add(time.Hour))
	s.Add("past", now.Add(-time.Second))
	s.Add("soon", now.Add(50*time.Millisecond))
	if !s.Revoked("hour") || s.Revoked("past") {
		t.Fatal("wrong answer")
	}
	waitFor(t, "soon to expire", func() bool { return !s.Revoked("soon") })
	if !s.Revoked("hour") {
		t.Fatal("hour expired")
	}
}
