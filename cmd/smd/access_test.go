package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/accessstream"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

// TestAccessTail: smd access tail prints the events an edge published as
// JSON lines, filtered by session and limited; bad flags are refused.
func TestAccessTail(t *testing.T) {
	srv, nc := natstest.Single(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := natsstore.Open(ctx, nc, natsstore.Limits{}); err != nil {
		t.Fatal(err)
	}
	p, err := accessstream.NewPublisher(accessstream.PublisherConfig{EdgeID: "edge-t", SpoolDir: t.TempDir(), Linger: 5 * time.Millisecond}, nc)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	defer func() { stop(); <-done }()
	for i, s := range []string{"S-1", "S-2", "S-1", "S-3", "S-1"} {
		p.Log(&accesslog.Event{Time: time.Now(), EdgeID: "edge-t", RequestPrefix: "r", RequestSeq: uint64(i), SessionID: s,
			Verdict: accesslog.VerdictAllow, Status: 200, Method: "GET", OriginPath: "/vod/a.ts"})
	}
	for deadline := time.Now().Add(10 * time.Second); p.Published() < 5; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("published %d of 5", p.Published())
		}
	}
	url := srv.ClientURL()
	lines := func(out string) []*accesslog.Event {
		t.Helper()
		var evs []*accesslog.Event
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			if l == "" {
				continue
			}
			e, err := accesslog.DecodeEvent([]byte(l))
			if err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			evs = append(evs, e)
		}
		return evs
	}
	if evs := lines(mustSucceed(t, "", "access", "tail", "--nats", url, "--since", "1h")); len(evs) != 5 {
		t.Fatalf("all: %d events", len(evs))
	}
	evs := lines(mustSucceed(t, "", "access", "tail", "--nats", url, "--since", "1h", "--session", "S-1"))
	if len(evs) != 3 || evs[0].RequestID != "r0" || evs[1].RequestID != "r2" || evs[2].RequestID != "r4" || evs[0].EdgeID != "edge-t" {
		t.Fatalf("session S-1: %+v", evs)
	}
	if evs := lines(mustSucceed(t, "", "access", "tail", "--nats", url, "--since", "1h", "--limit", "2")); len(evs) != 2 {
		t.Fatalf("limit 2: %d events", len(evs))
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"access", "tail", "--nats", url, "--since", "-1m"}, "--since"},
		{[]string{"access", "tail", "--nats", url, "--limit", "-1"}, "--limit"},
		{[]string{"access", "tail"}, "no NATS servers"},
		{[]string{"access", "tail", "--nats", url, "extra"}, "unknown command"},
	} {
		r := smd(t, "", tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("smd %q: exit %d, stderr %q; want an error naming %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
