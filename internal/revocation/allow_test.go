package revocation

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

// openAllowStore opens smd's buckets on a fresh server and an AllowStore
// whose clock is *now.
func openAllowStore(t *testing.T, now *time.Time) *AllowStore {
	t.Helper()
	_, nc := natstest.Single(t)
	st, _ := openStore(t, nc, natsstore.Limits{})
	s := NewAllowStore(st.JS, st.Allowed)
	s.Now = func() time.Time { return *now }
	return s
}

func TestAllowStore(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s := openAllowStore(t, &now)
	ctx := context.Background()

	rev, err := s.Allow(ctx, Allowance{SessionID: "vip_1", Reason: "our CEO", By: "apikey:admin"}, 0)
	if err != nil || rev == 0 {
		t.Fatalf("allow: %d, %v", rev, err)
	}
	a, ok, err := s.Get(ctx, "vip_1")
	if err != nil || !ok || a.Kind != KindAllow || a.Reason != "our CEO" || !a.AllowedAt.Equal(now) || !a.ExpiresAt.IsZero() {
		t.Fatalf("get: %+v %v %v", a, ok, err)
	}
	if _, err := s.Allow(ctx, Allowance{SessionID: "tmp_1"}, 90*time.Minute+time.Millisecond); err != nil {
		t.Fatal(err)
	}
	a, _, _ = s.Get(ctx, "tmp_1")
	if a.ExpiresAt.Sub(a.AllowedAt) != 90*time.Minute+time.Second {
		t.Errorf("ttl rounded up: %+v", a)
	}
	if ok, err := s.Allowed(ctx, "tmp_1"); !ok || err != nil {
		t.Errorf("allowed: %v %v", ok, err)
	}
	if ok, err := s.Allowed(ctx, "other"); ok || err != nil {
		t.Errorf("not allowed: %v %v", ok, err)
	}

	// Past its expiry an allowance no longer counts, even before NATS
	// removes it.
	now = now.Add(91 * time.Minute)
	if ok, _ := s.Allowed(ctx, "tmp_1"); ok {
		t.Error("expired allowance still allowed")
	}

	// A hold-off is written when nothing lasts as long; an allowlisting
	// without end is kept.
	wrote, err := s.HoldOff(ctx, "auto_1", "apikey:ops", 10*time.Minute)
	if err != nil || !wrote {
		t.Fatalf("hold off: %v %v", wrote, err)
	}
	a, ok, _ = s.Get(ctx, "auto_1")
	if !ok || a.Kind != KindHoldOff || a.By != "apikey:ops" || a.ExpiresAt.Sub(a.AllowedAt) != 10*time.Minute {
		t.Errorf("hold-off: %+v", a)
	}
	if wrote, err := s.HoldOff(ctx, "vip_1", "apikey:ops", 10*time.Minute); wrote || err != nil {
		t.Errorf("hold-off over a lasting allowlisting: %v %v", wrote, err)
	}
	if a, _, _ := s.Get(ctx, "vip_1"); a.Kind != KindAllow {
		t.Errorf("allowlisting replaced: %+v", a)
	}
	// A longer hold-off replaces a shorter one.
	if wrote, _ := s.HoldOff(ctx, "auto_1", "apikey:ops", 20*time.Minute); !wrote {
		t.Error("a longer hold-off was not written")
	}

	// tmp_1 has expired: a page may be shorter than the limit.
	page, next, err := s.List(ctx, "", 2)
	if err != nil || len(page) != 1 || page[0].SessionID != "auto_1" || next != "tmp_1" {
		t.Fatalf("page 1: %+v %q %v", page, next, err)
	}
	page, next, err = s.List(ctx, next, 2)
	if err != nil || next != "" || len(page) != 1 || page[0].SessionID != "vip_1" {
		t.Fatalf("page 2: %+v %q %v", page, next, err)
	}

	if ok, err := s.Disallow(ctx, "vip_1"); !ok || err != nil {
		t.Fatalf("disallow: %v %v", ok, err)
	}
	if ok, err := s.Disallow(ctx, "vip_1"); ok || err != nil {
		t.Fatalf("disallow again: %v %v", ok, err)
	}
	if ok, _ := s.Allowed(ctx, "vip_1"); ok {
		t.Error("still allowed after disallow")
	}
}

func TestAllowStoreRejectsBadInput(t *testing.T) {
	now := time.Now()
	s := openAllowStore(t, &now)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"bad id", func() error { _, err := s.Allow(ctx, Allowance{SessionID: "a-b"}, 0); return err }, "session_id"},
		{"kind", func() error { _, err := s.Allow(ctx, Allowance{SessionID: "a", Kind: "x"}, 0); return err }, "kind"},
		{"reason", func() error {
			_, err := s.Allow(ctx, Allowance{SessionID: "a", Reason: strings.Repeat("r", 1025)}, 0)
			return err
		}, "reason"},
		{"by", func() error { _, err := s.Allow(ctx, Allowance{SessionID: "a", By: "\xff"}, 0); return err }, "by"},
		{"negative ttl", func() error { _, err := s.Allow(ctx, Allowance{SessionID: "a"}, -time.Second); return err }, "ttl"},
		{"hold-off without ttl", func() error { _, err := s.HoldOff(ctx, "a", "", 0); return err }, "ttl"},
		{"hold-off bad id", func() error { _, err := s.HoldOff(ctx, "a.b", "", time.Minute); return err }, "session_id"},
		{"disallow bad id", func() error { _, err := s.Disallow(ctx, "*"); return err }, "session_id"},
		{"get bad id", func() error { _, _, err := s.Get(ctx, ""); return err }, "session_id"},
		{"limit", func() error { _, _, err := s.List(ctx, "", MaxListLimit+1); return err }, "limit"},
		{"cursor", func() error { _, _, err := s.List(ctx, "a b", 1); return err }, "after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fe *FieldError
			if err := tc.call(); !errors.As(err, &fe) || fe.Field != tc.want {
				t.Fatalf("err %v, want a FieldError on %s", err, tc.want)
			}
		})
	}
}
