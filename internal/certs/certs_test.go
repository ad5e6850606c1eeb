package certs

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/certs/certstest"
)

func serial(t *testing.T, r *Reloader) int64 {
	t.Helper()
	c, err := r.GetCertificate(nil)
	if err != nil || c == nil || c.Leaf == nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	return c.Leaf.SerialNumber.Int64()
}

func waitSerial(t *testing.T, r *Reloader, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for serial(t, r) != want {
		if time.Now().After(deadline) {
			t.Fatalf("serial %d, want %d", serial(t, r), want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestReloader: a changed pair is loaded; a bad one (a certificate
// without its key yet, garbage, a missing file) keeps the certificate
// held; Reread loads a pair whose size and time did not change.
func TestReloader(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certstest.Write(t, cf, kf, 1)
	r, err := New(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	if serial(t, r) != 1 || r.Loads() != 1 {
		t.Fatalf("first load: serial %d, %d loads", serial(t, r), r.Loads())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx, time.Millisecond, slog.New(slog.DiscardHandler))

	certstest.Write(t, cf, kf, 2)
	waitSerial(t, r, 2)

	// The certificate of a new pair, its key not written yet.
	other := t.TempDir()
	certstest.Write(t, filepath.Join(other, "c"), filepath.Join(other, "k"), 3)
	b, _ := os.ReadFile(filepath.Join(other, "c"))
	os.WriteFile(cf, b, 0o600)
	time.Sleep(30 * time.Millisecond)
	if serial(t, r) != 2 {
		t.Fatal("a certificate without its key replaced the held pair")
	}
	k, _ := os.ReadFile(filepath.Join(other, "k"))
	os.WriteFile(kf, k, 0o600)
	waitSerial(t, r, 3)

	os.WriteFile(cf, []byte("not a certificate"), 0o600)
	time.Sleep(30 * time.Millisecond)
	os.Remove(kf)
	time.Sleep(30 * time.Millisecond)
	if serial(t, r) != 3 {
		t.Fatal("a bad or missing file replaced the held pair")
	}
	if _, err := New(cf, kf); err == nil {
		t.Fatal("New accepted a bad pair")
	}
}

// TestReread: with no periodic check (interval 0), a new pair is loaded
// only on Reread (SIGHUP).
func TestReread(t *testing.T) {
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certstest.Write(t, cf, kf, 4)
	r, err := New(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx, 0, slog.New(slog.DiscardHandler))
	certstest.Write(t, cf, kf, 5)
	time.Sleep(20 * time.Millisecond)
	if serial(t, r) != 4 {
		t.Fatal("loaded without a check or Reread")
	}
	r.Reread()
	waitSerial(t, r, 5)
}
