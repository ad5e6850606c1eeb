package rotation

import (
	"context"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

// TestClusterNodeStoppedDuringRotation: three NATS nodes, replicas 3; a
// node stops while the next key is being distributed. The rotation
// completes, nothing is lost, and the edges keep every key throughout.
func TestClusterNodeStoppedDuringRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	c := natstest.StartCluster(t, 3)
	limits := natsstore.Limits{Replicas: 3, LeaseTTL: 3 * time.Second}
	s := openStore(t, c.Connect(), limits)
	mk := masterKey(t)
	clk := newClock(t0)
	e1 := newEdge(t, "e1", openStore(t, c.Connect(), limits), mk)
	e2 := newEdge(t, "e2", openStore(t, c.Connect(), limits), mk)
	// e3's watcher does not run yet: it holds the rotation in its
	// distributing phase until a node is down.
	e3 := newEdge(t, "e3", s, mk)
	e1.run()
	e2.run()
	var p promotions
	r := newRotator(t, s, mk, clk, nil, "a")
	r.cfg.BeforePromote = p.hook(e1, e2, e3)
	runRotator(t, r)

	const long = 60 * time.Second
	waitFor(t, "the ring", long, func() bool { return status(t, r).Primary != "" })
	k0 := status(t, r).Primary
	for _, e := range []*edge{e1, e2} {
		waitFor(t, e.id+" to hold the primary", long, func() bool { return e.w.Lookup(k0) != nil })
	}
	ctx := context.Background()
	if _, err := r.RequestRotation(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a next key", long, func() bool { return status(t, r).Next != "" })
	k1 := status(t, r).Next
	waitFor(t, "the leader to wait for e3", long, func() bool { return value(r.m.lacking) == 1 })

	c.Stop(0)
	e3.run()

	waitFor(t, "the promotion with a node down", long, func() bool {
		st := status(t, r)
		return st.Primary == k1 && st.Phase == keyring.PhaseIdle
	})
	p.check(t, 1)
	st := status(t, r)
	if st.LastResult != resultOK || len(st.Keys) != 2 {
		t.Fatalf("status %+v", st)
	}
	for _, e := range []*edge{e1, e2, e3} {
		waitFor(t, e.id+" to hold the promoted ring", long, func() bool { return e.w.Revision() == st.Revision })
		if e.w.Lookup(k0) == nil || e.w.Lookup(k1) == nil {
			t.Fatalf("%s holds %v", e.id, e.w.KeyIDs())
		}
		if k, err := e.w.Live().Signing(); err != nil || k.ID != k1 {
			t.Fatalf("%s signs with %v %v", e.id, k, err)
		}
	}
}
