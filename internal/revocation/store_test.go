package revocation

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

func TestStoreRoundTrip(t *testing.T) {
	_, nc := natstest.Single(t)
	_, s := openStore(t, nc, natsstore.Limits{})
	ctx := context.Background()
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	in := Entry{SessionID: "sess_1", Type: TypeAuto, Reason: "shared on 4 IPs", Score: 0.93, By: "detector", RevokedAt: at,
		Features: map[string]float64{"places": 4, "speed": 1.25}}
	rev, err := s.Revoke(ctx, in, 0)
	if err != nil || rev == 0 {
		t.Fatalf("revoke: %d, %v", rev, err)
	}
	got, ok, err := s.Get(ctx, "sess_1")
	if err != nil || !ok {
		t.Fatalf("get: %v, %v", ok, err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("got %+v\nwant %+v", got, in)
	}
	// Defaults: type manual, RevokedAt now, ExpiresAt from the TTL rounded
	// up to whole seconds.
	before := time.Now()
	if _, err := s.Revoke(ctx, Entry{SessionID: "sess_2"}, 1500*time.Millisecond+time.Hour); err != nil {
		t.Fatal(err)
	}
	got, ok, err = s.Get(ctx, "sess_2")
	if err != nil || !ok || got.Type != TypeManual || got.RevokedAt.Before(before.Add(-time.Second)) ||
		got.ExpiresAt.Sub(got.RevokedAt) != time.Hour+2*time.Second {
		t.Fatalf("defaults: %+v, %v, %v", got, ok, err)
	}
	if _, ok, err := s.Get(ctx, "nobody"); ok || err != nil {
		t.Fatalf("absent id: %v, %v", ok, err)
	}
}

func TestStoreRejectsBadInput(t *testing.T) {
	_, nc := natstest.Single(t)
	_, s := openStore(t, nc, natsstore.Limits{})
	ctx := context.Background()
	ok := Entry{SessionID: "good_1", Type: TypeManual}
	with := func(f func(*Entry)) Entry { e := ok; f(&e); return e }
	for _, tc := range []struct {
		name string
		e    Entry
		ttl  time.Duration
		want string
	}{
		{"empty id", with(func(e *Entry) { e.SessionID = "" }), 0, "session_id"},
		{"dash", with(func(e *Entry) { e.SessionID = "a-b" }), 0, "session_id"},
		{"dot (a NATS subject separator)", with(func(e *Entry) { e.SessionID = "a.b" }), 0, "session_id"},
		{"wildcard", with(func(e *Entry) { e.SessionID = "a*" }), 0, "session_id"},
		{"201 characters", with(func(e *Entry) { e.SessionID = strings.Repeat("x", 201) }), 0, "session_id"},
		{"non-ASCII", with(func(e *Entry) { e.SessionID = "é" }), 0, "session_id"},
		{"type", with(func(e *Entry) { e.Type = "other" }), 0, "type"},
		{"reason too long", with(func(e *Entry) { e.Reason = strings.Repeat("r", 1025) }), 0, "reason"},
		{"reason not UTF-8", with(func(e *Entry) { e.Reason = "\xff" }), 0, "reason"},
		{"by too long", with(func(e *Entry) { e.By = strings.Repeat("b", 201) }), 0, "by"},
		{"NaN score", with(func(e *Entry) { e.Score = math.NaN() }), 0, "score"},
		{"infinite score", with(func(e *Entry) { e.Score = math.Inf(1) }), 0, "score"},
		{"NaN feature", with(func(e *Entry) { e.Features = map[string]float64{"speed": math.NaN()} }), 0, "features"},
		{"feature name", with(func(e *Entry) { e.Features = map[string]float64{"Speed": 1} }), 0, "features"},
		{"empty feature name", with(func(e *Entry) { e.Features = map[string]float64{"": 1} }), 0, "features"},
		{"too many features", with(func(e *Entry) { e.Features = manyFeatures(MaxFeatures + 1) }), 0, "features"},
		{"negative ttl", ok, -time.Second, "ttl"},
		{"201 characters, checked before the ttl", with(func(e *Entry) { e.SessionID = strings.Repeat("x", 201) }), -1, "session_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Revoke(ctx, tc.e, tc.ttl)
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.Contains(fe.Field, tc.want) {
				t.Fatalf("err %v, want a FieldError naming %q", err, tc.want)
			}
		})
	}
	if _, _, err := s.Get(ctx, "a.b"); !errors.Is(err, ErrInvalidSessionID) {
		t.Errorf("get: %v", err)
	}
	if _, err := s.Unrevoke(ctx, "a>"); !errors.Is(err, ErrInvalidSessionID) {
		t.Errorf("unrevoke: %v", err)
	}
	if _, _, err := s.List(ctx, "a b", 10); err == nil || !strings.Contains(err.Error(), "after") {
		t.Errorf("list after: %v", err)
	}
	for _, limit := range []int{-1, MaxListLimit + 1} {
		if _, _, err := s.List(ctx, "", limit); err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("list limit %d: %v", limit, err)
		}
	}
	if n, err := s.Count(ctx); n != 0 || err != nil {
		t.Errorf("nothing may have been written: %d, %v", n, err)
	}
	if ValidSessionID(strings.Repeat("x", 201)) || !ValidSessionID(strings.Repeat("x", 200)) {
		t.Error("ValidSessionID length bound")
	}
}

func TestStoreUnrevoke(t *testing.T) {
	_, nc := natstest.Single(t)
	st, s := openStore(t, nc, natsstore.Limits{})
	ctx := context.Background()
	if _, err := s.Revoke(ctx, Entry{SessionID: "s1"}, 0); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		existed, err := s.Unrevoke(ctx, "s1")
		if err != nil || existed != want {
			t.Fatalf("unrevoke %d: %v, %v", i, existed, err)
		}
	}
	if _, ok, err := s.Get(ctx, "s1"); ok || err != nil {
		t.Fatalf("get after unrevoke: %v, %v", ok, err)
	}
	if _, err := s.Unrevoke(ctx, "never_revoked"); err != nil {
		t.Fatal(err)
	}
	// The unrevoke left one purge marker for watchers, which expires.
	h, err := st.Revoked.History(ctx, "s1")
	if err != nil || len(h) != 1 || h[0].Operation() != jetstream.KeyValuePurge {
		t.Fatalf("history: %v, %v", h, err)
	}
	// Revoking again after an unrevoke works.
	if _, err := s.Revoke(ctx, Entry{SessionID: "s1"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, "s1"); !ok {
		t.Fatal("not revoked again")
	}
}

func TestStoreListPages(t *testing.T) {
	_, nc := natstest.Single(t)
	_, s := openStore(t, nc, natsstore.Limits{})
	ctx := context.Background()
	var want []string
	for i := range 26 {
		id := fmt.Sprintf("s%02d", i)
		if _, err := s.Revoke(ctx, Entry{SessionID: id, Reason: "r" + id}, 0); err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	if _, err := s.Unrevoke(ctx, "s13"); err != nil {
		t.Fatal(err)
	}
	want = append(want[:13], want[14:]...)
	if n, err := s.Count(ctx); n != 25 || err != nil {
		t.Fatalf("count %d, %v", n, err)
	}
	var got []string
	var sizes []int
	after := ""
	for range 10 {
		page, next, err := s.List(ctx, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page))
		for _, e := range page {
			if e.Reason != "r"+e.SessionID {
				t.Fatalf("entry %+v", e)
			}
			got = append(got, e.SessionID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(sizes) != "[10 10 5]" {
		t.Fatalf("pages %v, ids %v\nwant %v", sizes, got, want)
	}
	// Default page size and a cursor past the end.
	if page, next, err := s.List(ctx, "", 0); len(page) != 25 || next != "" || err != nil {
		t.Fatalf("default limit: %d, %q, %v", len(page), next, err)
	}
	if page, next, err := s.List(ctx, "zzz", 10); len(page) != 0 || next != "" || err != nil {
		t.Fatalf("after the end: %d, %q, %v", len(page), next, err)
	}
	// An exact multiple of the page size ends with an empty cursor.
	if page, next, err := s.List(ctx, "s15", 10); len(page) != 10 || next != "" || err != nil {
		t.Fatalf("last full page: %d, %q, %v", len(page), next, err)
	}
}

// TestStoreTTL checks expiry through JetStream's per-key TTL, seen by a
// watcher, and that a re-revocation replaces the TTL either way.
func TestStoreTTL(t *testing.T) {
	_, nc := natstest.Single(t)
	st, s := openStore(t, nc, natsstore.Limits{})
	ctx := context.Background()
	var seen updates
	w := NewWatcher(WatcherConfig{Applied: seen.add})
	run(t, w, opener(nc, natsstore.Limits{}))
	waitClosed(t, "sync", w.Synced())

	revoke := func(id string, ttl time.Duration) {
		t.Helper()
		if _, err := s.Revoke(ctx, Entry{SessionID: id}, ttl); err != nil {
			t.Fatal(err)
		}
	}
	revoke("expires", time.Second)
	revoke("ttl_then_none", time.Second)
	revoke("ttl_then_none", 0)
	revoke("none_then_ttl", 0)
	revoke("none_then_ttl", time.Second)
	revoke("short_then_long", time.Second)
	revoke("short_then_long", time.Hour)
	// Written last: once it has expired, every earlier TTL has passed.
	revoke("sentinel", time.Second)

	// JetStream removes the expiring entries and the watcher gets the
	// markers.
	for _, id := range []string{"expires", "none_then_ttl", "sentinel"} {
		waitFor(t, id+" expiry marker at the watcher", func() bool { return seen.has(id, false) })
		if _, err := st.Revoked.Get(ctx, id); !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Errorf("%s still in the bucket: %v", id, err)
		}
	}
	// By now the first TTLs of the re-revoked entries have passed too;
	// they are still in the bucket and at the watcher.
	for _, id := range []string{"ttl_then_none", "short_then_long"} {
		if _, err := st.Revoked.Get(ctx, id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
		if _, ok, err := s.Get(ctx, id); !ok || err != nil {
			t.Errorf("%s: %v, %v", id, ok, err)
		}
		if !w.Revoked(id) {
			t.Errorf("%s not revoked at the watcher", id)
		}
	}
	if w.Revoked("expires") || w.Len() != 2 {
		t.Errorf("watcher holds %d", w.Len())
	}
	if n, err := s.Count(ctx); n != 2 || err != nil {
		t.Errorf("count %d, %v", n, err)
	}
}

// manyFeatures returns n features f0, f1, ...
func manyFeatures(n int) map[string]float64 {
	m := map[string]float64{}
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("f%d", i)] = float64(i)
	}
	return m
}
