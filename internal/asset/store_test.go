package asset

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

func newStore(t *testing.T) *Store {
	t.Helper()
	_, nc := natstest.Single(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := natsstore.Open(ctx, nc, natsstore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return NewStore(st.JS, st.Assets)
}

func mustParse(t *testing.T, js string) *Asset {
	t.Helper()
	a, err := Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestStore(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := mustParse(t, goodJSON)

	if _, err := s.Get(ctx, "m1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get before create: %v", err)
	}
	c, err := s.Create(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if c.Revision == 0 || c.UpdatedAt.IsZero() {
		t.Errorf("created %+v", c)
	}
	if _, err := s.Create(ctx, a); !errors.Is(err, ErrExists) {
		t.Errorf("second Create: %v, want ErrExists", err)
	}
	got, err := s.Get(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Revision != c.Revision || got.URLPath != a.URLPath || !got.TokenPolicy.IP || got.TokenPolicy.Exclusions == nil {
		t.Errorf("Get = %+v", got)
	}

	// Update with the current revision, then with a stale one.
	got.URLPath = "/vod/m1/main.m3u8"
	u, err := s.Update(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if u.Revision <= got.Revision {
		t.Errorf("revision %d after update of %d", u.Revision, got.Revision)
	}
	if _, err := s.Update(ctx, got); !errors.Is(err, ErrConflict) {
		t.Errorf("stale Update: %v, want ErrConflict", err)
	}
	got.Revision = 0
	if _, err := s.Update(ctx, got); err != nil {
		t.Errorf("Update without revision: %v", err)
	}
	missing := *a
	missing.ID = "nope"
	if _, err := s.Update(ctx, &missing); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update of a missing asset: %v", err)
	}
	bad := *a
	bad.URLPath = "x"
	var fe *FieldError
	if _, err := s.Create(ctx, &bad); !errors.As(err, &fe) || fe.Field != "url_path" {
		t.Errorf("Create invalid: %v", err)
	}

	if err := s.Delete(ctx, "m1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "m1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
	if _, err := s.Get(ctx, "m1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after delete: %v", err)
	}
	if _, err := s.Create(ctx, a); err != nil {
		t.Errorf("Create after delete: %v", err)
	}
}

func TestStoreList(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if l, next, err := s.List(ctx, "", 0); err != nil || len(l) != 0 || next != "" {
		t.Fatalf("empty List = %v %q %v", l, next, err)
	}
	for i := range 5 {
		a := mustParse(t, goodJSON)
		a.ID = fmt.Sprintf("a%d", 4-i)
		if _, err := s.Put(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		l, next, err := s.List(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range l {
			ids = append(ids, a.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	if fmt.Sprint(ids) != "[a0 a1 a2 a3 a4]" {
		t.Errorf("ids %v", ids)
	}
	for _, tc := range []struct {
		after string
		limit int
		field string
	}{{"", -1, "limit"}, {"", MaxListLimit + 1, "limit"}, {"a/b", 1, "after"}} {
		var fe *FieldError
		if _, _, err := s.List(ctx, tc.after, tc.limit); !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("List(%q, %d): %v, want field %s", tc.after, tc.limit, err, tc.field)
		}
	}
}
