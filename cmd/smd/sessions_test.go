package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestSessionsCommands(t *testing.T) {
	e := startAPI(t)
	out := mustSucceed(t, "", e.as(e.adminFile, "sessions", "revoke", "abc123", "--reason", "shared", "--ttl", "2h")...)
	if !strings.HasPrefix(out, "revoked abc123 until ") {
		t.Errorf("revoke: %s", out)
	}
	if got := e.Sessions.TTL("abc123"); got != 2*time.Hour {
		t.Errorf("ttl %v", got)
	}
	rv, ok, _ := e.Sessions.Get(context.Background(), "abc123")
	if !ok || rv.Reason != "shared" || rv.By != "apikey:admin" {
		t.Errorf("stored %+v", rv)
	}
	out = mustSucceed(t, "", e.as(e.adminFile, "sessions", "revoke", "s2")...)
	if out != "revoked s2 until unrevoked\n" {
		t.Errorf("revoke without ttl: %q", out)
	}
	for _, id := range []string{"s3", "s4"} {
		mustSucceed(t, "", e.as(e.adminFile, "sessions", "revoke", id, "--ttl", "7d")...)
	}

	out = mustSucceed(t, "", e.as(e.readerFile, "sessions", "list", "--limit", "2")...)
	if !strings.Contains(out, "abc123") || !strings.Contains(out, "s2") || strings.Contains(out, "s3 ") || !strings.Contains(out, "more: --after s2") {
		t.Errorf("list page:\n%s", out)
	}
	var page struct {
		Items []struct {
			SessionID string `json:"session_id"`
		}
		Next string
	}
	if err := json.Unmarshal([]byte(mustSucceed(t, "", e.as(e.readerFile, "sessions", "list", "--limit", "2", "--all", "--json")...)), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 4 || page.Items[3].SessionID != "s4" || page.Next != "" {
		t.Errorf("list --all: %+v", page)
	}

	out = mustSucceed(t, "", e.as(e.adminFile, "sessions", "unrevoke", "abc123")...)
	if out != "unrevoked abc123\n" {
		t.Errorf("unrevoke: %q", out)
	}
	mustFail(t, "", `session "abc123" is not revoked (404 session_not_revoked)`, e.as(e.adminFile, "sessions", "unrevoke", "abc123")...)
	mustFail(t, "", "400 invalid_session_id", e.as(e.adminFile, "sessions", "revoke", "a-b")...)
	mustFail(t, "", "--ttl", e.as(e.adminFile, "sessions", "revoke", "s5", "--ttl", "soon")...)
	mustFail(t, "", "403 scope_missing", e.as(e.readerFile, "sessions", "revoke", "s5")...)
	mustFail(t, "", "--limit", e.as(e.readerFile, "sessions", "list", "--limit", "5000")...)
	mustFail(t, "", "accepts 1 arg(s)", e.as(e.adminFile, "sessions", "revoke")...)
}
