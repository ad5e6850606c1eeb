package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/fleet"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

func TestPublishLiveExpire(t *testing.T) {
	_, nc := natstest.Single(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := natsstore.Open(ctx, nc, natsstore.Limits{EdgeTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if hs, err := fleet.Live(ctx, s.Edges); err != nil || len(hs) != 0 {
		t.Fatalf("empty bucket: %v %v", hs, err)
	}
	h := &fleet.Heartbeat{EdgeID: "e1", KeyIDs: []string{"k1", "k2"}, KeysRevision: 3, At: time.Now()}
	if err := fleet.Publish(ctx, s.Edges, h); err != nil {
		t.Fatal(err)
	}
	if err := fleet.Publish(ctx, s.Edges, &fleet.Heartbeat{}); err == nil {
		t.Fatal("heartbeat without id accepted")
	}
	hs, err := fleet.Live(ctx, s.Edges)
	if err != nil || len(hs) != 1 || hs[0].EdgeID != "e1" || !hs[0].HasKey("k2") || hs[0].HasKey("k3") {
		t.Fatalf("live: %+v %v", hs, err)
	}
	// Not renewed: gone after the TTL.
	deadline := time.Now().Add(10 * time.Second)
	for {
		hs, err = fleet.Live(ctx, s.Edges)
		if err != nil {
			t.Fatal(err)
		}
		if len(hs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("heartbeat did not expire: %+v", hs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
