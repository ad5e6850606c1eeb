package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control"
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

func TestSessionsGetShowsTheDetectorsBreakdown(t *testing.T) {
	e := startAPI(t)
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if _, err := e.Sessions.Revoke(context.Background(), control.Revocation{SessionID: "auto1", Type: "auto", Score: 2.5,
		Reason: "concurrency score 2.5 over 1", By: "detector", RevokedAt: at,
		Features:    map[string]float64{"places": 3, "place_countries": 2, "speed": 1.25},
		Explanation: []string{"seen from 20 places in 5 countries within 4 min 12 s: spread 8.8", "concurrency score 8.8, at or over 1.1"},
		Evidence: &control.Evidence{Addresses: []string{"198.18.0.1", "198.18.1.1"}, Countries: []string{"BR", "DE"},
			UserAgents: []string{"Chrome", "Safari"}, From: at.Add(-time.Minute), To: at}}, 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	// A marginal score is never rounded onto its threshold.
	if _, err := e.Sessions.Revoke(context.Background(), control.Revocation{SessionID: "auto2", Type: "auto", Score: 1.10001,
		By: "detector", RevokedAt: at, Features: map[string]float64{"threshold_applied": 1.1}}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if out := mustSucceed(t, "", e.as(e.readerFile, "sessions", "get", "auto2")...); !strings.Contains(out, "score     1.10001\n") {
		t.Errorf("marginal score:\n%s", out)
	}
	out := mustSucceed(t, "", e.as(e.readerFile, "sessions", "get", "auto1")...)
	for _, want := range []string{"type         auto", "score        2.5", "by           detector", "features     place_countries = 2",
		"             places = 3", "             speed = 1.25", "expires      2026-11-30T10:00:00Z",
		"why          seen from 20 places in 5 countries within 4 min 12 s: spread 8.8", "             concurrency score 8.8, at or over 1.1",
		"addresses    198.18.0.1, 198.18.1.1 (2)", "countries    BR, DE (2)", "user agents  Chrome", "             Safari",
		"requests     2026-11-23T09:59:00Z to 2026-11-23T10:00:00Z"} {
		if !strings.Contains(out, want) {
			t.Errorf("get: no %q in\n%s", want, out)
		}
	}
	var r control.Revocation
	if err := json.Unmarshal([]byte(mustSucceed(t, "", e.as(e.readerFile, "sessions", "get", "auto1", "--json")...)), &r); err != nil || r.Features["speed"] != 1.25 {
		t.Errorf("get --json: %+v %v", r, err)
	}
	out = mustSucceed(t, "", e.as(e.readerFile, "sessions", "list")...)
	if !strings.Contains(out, "SCORE") || !strings.Contains(out, "auto1    auto  2.5") {
		t.Errorf("list:\n%s", out)
	}
	mustFail(t, "", `session "nobody" is not revoked (404 session_not_revoked)`, e.as(e.readerFile, "sessions", "get", "nobody")...)
}

func TestSessionsAllowCommands(t *testing.T) {
	e := startAPI(t)
	out := mustSucceed(t, "", e.as(e.adminFile, "sessions", "allow", "vip1", "--reason", "QA rig", "--ttl", "30d")...)
	if !strings.HasPrefix(out, "allowlisted vip1 until ") {
		t.Errorf("allow: %s", out)
	}
	a, ok, _ := e.Allowed.Get(context.Background(), "vip1")
	if !ok || a.Reason != "QA rig" || a.By != "apikey:admin" || a.ExpiresAt.Sub(a.AllowedAt) != 30*24*time.Hour {
		t.Errorf("stored %+v", a)
	}
	if out := mustSucceed(t, "", e.as(e.adminFile, "sessions", "allow", "vip2")...); out != "allowlisted vip2 until removed\n" {
		t.Errorf("allow without ttl: %q", out)
	}
	out = mustSucceed(t, "", e.as(e.readerFile, "sessions", "allowed", "--limit", "1")...)
	if !strings.Contains(out, "vip1") || !strings.Contains(out, "allow") || strings.Contains(out, "vip2 ") || !strings.Contains(out, "more: --after vip1") {
		t.Errorf("allowed page:\n%s", out)
	}
	var page struct {
		Items []control.Allowance
		Next  string
	}
	if err := json.Unmarshal([]byte(mustSucceed(t, "", e.as(e.readerFile, "sessions", "allowed", "--limit", "1", "--all", "--json")...)), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || page.Items[1].SessionID != "vip2" || page.Next != "" {
		t.Errorf("allowed --all: %+v", page)
	}
	if out := mustSucceed(t, "", e.as(e.adminFile, "sessions", "disallow", "vip1")...); out != "removed vip1 from the allowlist\n" {
		t.Errorf("disallow: %q", out)
	}
	mustFail(t, "", `session "vip1" is not allowlisted (404 session_not_allowed)`, e.as(e.adminFile, "sessions", "disallow", "vip1")...)
	mustFail(t, "", "403 scope_missing", e.as(e.readerFile, "sessions", "allow", "vip3")...)
	mustFail(t, "", "--ttl", e.as(e.adminFile, "sessions", "allow", "vip3", "--ttl", "soon")...)
	mustFail(t, "", "400 invalid_session_id", e.as(e.adminFile, "sessions", "allow", "a.b")...)
}

// TestSessionsShowTextEscaped: a reason stored with terminal controls (by
// an older version, or straight into the store) is shown escaped, never
// acted on; the API refuses such a reason from now on.
func TestSessionsShowTextEscaped(t *testing.T) {
	e := startAPI(t)
	reason := "shared\x1b[2J\x1b[31m\x00 \u202eevil\x07"
	if _, err := e.Sessions.Revoke(context.Background(), control.Revocation{SessionID: "esc1", Type: "manual",
		Reason: reason, By: "apikey:admin", RevokedAt: time.Now().UTC().Truncate(time.Second)}, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"sessions", "get", "esc1"}, {"sessions", "list"}} {
		out := mustSucceed(t, "", e.as(e.readerFile, args...)...)
		for _, raw := range []string{"\x1b", "\x00", "\u202e", "\x07"} {
			if strings.Contains(out, raw) {
				t.Errorf("%v prints %q raw:\n%q", args, raw, out)
			}
		}
		if !strings.Contains(out, `shared\x1b[2J\x1b[31m\x00 \u202eevil\x07`) {
			t.Errorf("%v: the reason is not shown escaped:\n%s", args, out)
		}
	}
	mustFail(t, "", "reason: contains a control character (U+001B", e.as(e.adminFile, "sessions", "revoke", "esc2", "--reason", "a\x1bb")...)
}
