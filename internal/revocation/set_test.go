package revocation

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
	w.poll()
	if !w.Set.Revoked("two") {
		t.Fatal("change not picked up")
	}
	// An invalid edit or a removed file keeps the last good set.
	write("one\ntwo\nbad-id\n", time.Now().Add(2*time.Hour))
	w.poll()
	os.Remove(p)
	w.poll()
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
