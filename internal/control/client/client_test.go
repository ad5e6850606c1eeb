package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control/controltest"
)

func TestNew(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://", "http://h?x=1", "://"} {
		if _, err := New(u, ""); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
	if _, err := New("http://h", "a b"); err == nil {
		t.Error("New accepted a key with a space")
	}
}

func TestErrors(t *testing.T) {
	var gotAuth, gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.RequestURI()
		switch r.URL.Path {
		case "/base/v1/assets/m1":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			w.Write([]byte(`{"error":"asset_not_found","message":"no asset \"m1\""}`))
		default:
			w.WriteHeader(502)
			w.Write([]byte("<html>bad gateway</html>"))
		}
	}))
	defer srv.Close()
	c, err := New(srv.URL+"/base/", "smd_k_secret")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Asset(context.Background(), "m1")
	var e *Error
	if !errors.As(err, &e) || e.Status != 404 || e.Code != "asset_not_found" || e.Message != `no asset "m1"` {
		t.Errorf("Asset: %#v", err)
	}
	if gotAuth != "Bearer smd_k_secret" || gotPath != "/base/v1/assets/m1" {
		t.Errorf("sent %q to %q", gotAuth, gotPath)
	}
	_, _, err = c.ListAssets(context.Background(), "a1", 5)
	if !errors.As(err, &e) || e.Status != 502 || e.Code != "http_502" || strings.Contains(err.Error(), "secret") {
		t.Errorf("ListAssets: %v", err)
	}
	if gotPath != "/base/v1/assets?after=a1&limit=5" {
		t.Errorf("path %q", gotPath)
	}
}

func TestAllowlist(t *testing.T) {
	e := controltest.Start(t, controltest.Options{})
	ctx := context.Background()
	admin, err := New(e.URL, e.Admin)
	if err != nil {
		t.Fatal(err)
	}
	r, err := admin.Allow(ctx, "vip1", "QA rig", 90*time.Minute+time.Millisecond)
	if err != nil || r.SessionID != "vip1" || r.Kind != "allow" || r.Revision == 0 || r.ExpiresAt.Sub(r.AllowedAt) != 90*time.Minute+time.Second {
		t.Fatalf("allow: %+v %v", r, err)
	}
	if a, err := admin.Allowance(ctx, "vip1"); err != nil || a.Reason != "QA rig" {
		t.Errorf("allowance: %+v %v", a, err)
	}
	if _, err := admin.Allow(ctx, "vip2", "", 0); err != nil {
		t.Fatal(err)
	}
	items, next, err := admin.ListAllowed(ctx, "", 1)
	if err != nil || len(items) != 1 || next != "vip1" {
		t.Errorf("page: %+v %q %v", items, next, err)
	}
	if err := admin.Disallow(ctx, "vip1"); err != nil {
		t.Fatal(err)
	}
	var ae *Error
	if err := admin.Disallow(ctx, "vip1"); !errors.As(err, &ae) || ae.Code != "session_not_allowed" {
		t.Errorf("disallow again: %v", err)
	}
}
