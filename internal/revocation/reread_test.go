package revocation

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFileWatcherReread: a revoked file replaced with the same size and
// modification time escapes the periodic check; Reread (SIGHUP) reads it
// anyway.
func TestFileWatcherReread(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revoked.txt")
	when := time.Now().Add(-time.Hour)
	write := func(body string) {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(path, when, when)
	}
	write("Gone1\n")
	w := &FileWatcher{Path: path, Interval: time.Millisecond, Set: NewSet(), Log: slog.New(slog.DiscardHandler)}
	if err := w.Load(); err != nil {
		t.Fatal(err)
	}
	write("Gone2\n") // same size, same time
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go w.Run(ctx)
	time.Sleep(20 * time.Millisecond)
	if w.Set.Revoked("Gone2") {
		t.Fatal("the periodic check saw a change of neither size nor time")
	}
	w.Reread()
	deadline := time.Now().Add(5 * time.Second)
	for !w.Set.Revoked("Gone2") {
		if time.Now().After(deadline) {
			t.Fatal("Reread did not read the file")
		}
		time.Sleep(time.Millisecond)
	}
	if w.Set.Revoked("Gone1") {
		t.Error("Gone1 still revoked after the reread")
	}
}
