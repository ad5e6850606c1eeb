package node

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/accessstream"
)

// natsDown is how long TestFaultsNATSDown keeps every NATS node down: the
// short form runs in go test, the long form (60s) by the flag.
var natsDown = flag.Duration("faults.natsdown", 3*time.Second, "TestFaultsNATSDown: how long all of NATS is down")

// TestFaultsNATSDown: with every node of the 3-node NATS cluster down, an
// edge keeps serving from memory (valid tokens served, a revoked session
// refused) and spools its access events; once NATS is back, every event is
// delivered to the stream, none twice.
func TestFaultsNATSDown(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	c := startCluster(t, 1)
	ctx := context.Background()
	api := adminClient(t, c.dataDir, c.api)
	if _, err := api.CreateAsset(ctx, []byte(fmt.Sprintf(assetJSON, "cdn.example.com"))); err != nil {
		t.Fatal(err)
	}
	edge := "http://" + c.edges[0].Edge.Addr
	mint := func() (string, string) {
		tok, err := api.Token(ctx, "m1", nil)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Replace(tok.PlaybackURL, "http://cdn.example.com", edge, 1), tok.SessionID
	}
	good, session := mint()
	gone, goneSession := mint()
	waitFor(t, "the edge to load the key ring", func() bool { return status(t, good) == 200 })
	if _, err := api.Revoke(ctx, goneSession, "faults test", time.Hour); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the edge to refuse the revoked session", func() bool { return status(t, gone) == 403 })
	requests := 1 // the one above

	for i := range 3 {
		c.nats.Stop(i)
	}
	t0 := time.Now()
	for time.Since(t0) < *natsDown {
		if st := status(t, good); st != 200 {
			t.Fatalf("with NATS down, a valid token: %d", st)
		}
		requests++
		if st := status(t, gone); st != 403 {
			t.Fatalf("with NATS down, a revoked session: %d", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 3 {
		c.nats.Restart(i)
	}
	if st := status(t, good); st != 200 {
		t.Fatalf("NATS back, a valid token: %d", st)
	}
	requests++

	nc := c.nats.Connect()
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var events, unique int
	deadline := time.Now().Add(60 * time.Second)
	for {
		ids := map[string]int{}
		events = 0
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		_, err := accessstream.Tail(tctx, js, accessstream.TailConfig{Since: time.Hour, Session: session}, func(e *accesslog.Event) bool {
			events++
			ids[e.RequestID]++
			return true
		})
		cancel()
		unique = len(ids)
		if err == nil && events >= requests || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("NATS down %v: %d requests of the session, %d events in the stream, %d distinct", *natsDown, requests, events, unique)
	if events != requests || unique != requests {
		t.Fatalf("%d requests, %d events in the stream (%d distinct): want every one once", requests, events, unique)
	}
}
