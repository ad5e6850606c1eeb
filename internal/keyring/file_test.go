package keyring

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFileRingReload: a changed file is reloaded; a key whose secret did
// not change keeps its *token.Key (caches stay warm), a changed or
// removed one does not; a broken file keeps the last good ring.
func TestFileRingReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	write := func(s string, at time.Time) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(path, at, at)
	}
	now := time.Now()
	write(`{"k1": "`+a+`", "k2": "`+b+`"}`, now)
	f, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	k1, k2 := f.Lookup("k1"), f.Lookup("k2")
	log := slog.New(slog.DiscardHandler)

	write(`{"k1": "`+a+`", "k2": "`+a+`", "k3": "`+b+`"}`, now.Add(time.Second))
	f.poll(log, false)
	if f.Lookup("k1") != k1 {
		t.Error("k1 unchanged, yet a new *token.Key")
	}
	if f.Lookup("k2") == k2 || string(f.Lookup("k2").Secret) != a {
		t.Error("k2's secret changed, yet the old *token.Key")
	}
	if f.Lookup("k3") == nil || f.Len() != 3 {
		t.Errorf("k3 not loaded: %d keys", f.Len())
	}

	write(`{"k3": "`+b+`"}`, now.Add(2*time.Second))
	f.poll(log, false)
	if f.Lookup("k1") != nil || f.Lookup("k2") != nil || f.Len() != 1 {
		t.Errorf("removed keys still held: %d keys", f.Len())
	}

	write(`{"k3": `, now.Add(3*time.Second))
	f.poll(log, false)
	if f.Lookup("k3") == nil {
		t.Error("a broken file dropped the last good keys")
	}
	os.Remove(path)
	f.poll(log, false)
	if f.Lookup("k3") == nil {
		t.Error("a missing file dropped the last good keys")
	}
}

// TestFileRingReread: a file replaced with the same size and modification
// time escapes the periodic check; Reread (SIGHUP) reads it anyway.
func TestFileRingReread(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	a, b := strings.Repeat("a", 32), strings.Repeat("b", 32)
	when := time.Now().Add(-time.Hour)
	write := func(body string) {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(path, when, when)
	}
	write(`{"k1": "` + a + `"}`)
	f, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	write(`{"k2": "` + b + `"}`) // same size, same time
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.Run(ctx, time.Millisecond, slog.New(slog.DiscardHandler))
	time.Sleep(20 * time.Millisecond)
	if f.Lookup("k2") != nil {
		t.Fatal("the periodic check saw a change of neither size nor time")
	}
	f.Reread()
	deadline := time.Now().Add(5 * time.Second)
	for f.Lookup("k2") == nil {
		if time.Now().After(deadline) {
			t.Fatal("Reread did not read the file")
		}
		time.Sleep(time.Millisecond)
	}
	if f.Lookup("k1") != nil {
		t.Error("k1 still held after the reread")
	}
}
