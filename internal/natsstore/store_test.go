package natsstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
)

func TestOpenIdempotentSingle(t *testing.T) {
	_, nc := natstest.Single(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s1, err := natsstore.Open(ctx, nc, natsstore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s1.Assets.Put(ctx, "a1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	// A second Open (another process starting) keeps the data.
	s2, err := natsstore.Open(ctx, nc, natsstore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := s2.Assets.Get(ctx, "a1")
	if err != nil || string(e.Value()) != "x" {
		t.Fatalf("asset after reopen: %v %v", e, err)
	}
	for _, b := range []string{natsstore.BucketKeys, natsstore.BucketRevoked, natsstore.BucketAssets, natsstore.BucketEdges, natsstore.BucketLeases, natsstore.BucketAllowed} {
		if _, err := s2.JS.KeyValue(ctx, b); err != nil {
			t.Errorf("bucket %s: %v", b, err)
		}
	}
	info, err := s2.Access.Info(ctx)
	if err != nil || info.Config.MaxAge != 24*time.Hour {
		t.Fatalf("access stream: %+v %v", info, err)
	}
}

// TestOpenUpdatesOnlyChanges: a second Open with the same limits sends
// no stream update (an update crossing a consumer being created is a data
// race inside nats-server, see EnsureKV); with other limits it updates
// exactly the streams whose limits changed.
func TestOpenUpdatesOnlyChanges(t *testing.T) {
	_, nc := natstest.Single(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	var updates []string
	sub, err := nc.Subscribe("$JS.API.STREAM.UPDATE.>", func(m *nats.Msg) {
		mu.Lock()
		updates = append(updates, strings.TrimPrefix(m.Subject, "$JS.API.STREAM.UPDATE."))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	seen := func() []string {
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		out := slices.Clone(updates)
		updates = nil
		return out
	}
	l := natsstore.Limits{RevokedMaxBytes: 1 << 20}
	for i := range 3 {
		if _, err := natsstore.Open(ctx, nc, l); err != nil {
			t.Fatal(err)
		}
		if u := seen(); i > 0 && len(u) != 0 {
			t.Fatalf("Open %d with the same limits updated %v", i+1, u)
		}
	}
	l.RevokedMaxBytes, l.AccessMaxAge = 2<<20, time.Hour
	s, err := natsstore.Open(ctx, nc, l)
	if err != nil {
		t.Fatal(err)
	}
	u := seen()
	slices.Sort(u)
	if want := []string{"KV_" + natsstore.BucketRevoked, natsstore.StreamAccess}; !slices.Equal(u, want) {
		t.Fatalf("Open with two limits changed updated %v, want %v", u, want)
	}
	if st, err := s.JS.Stream(ctx, "KV_"+natsstore.BucketRevoked); err != nil || st.CachedInfo().Config.MaxBytes != 2<<20 {
		t.Fatalf("revoked bucket after the update: %v", err)
	}
	if info, err := s.Access.Info(ctx); err != nil || info.Config.MaxAge != time.Hour {
		t.Fatalf("access stream after the update: %+v %v", info, err)
	}
}

// TestRevokedPerKeyTTL: a revocation created with a TTL disappears, and a
// watcher sees its removal.
func TestRevokedPerKeyTTL(t *testing.T) {
	_, nc := natstest.Single(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := natsstore.Open(ctx, nc, natsstore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Revoked.WatchAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := s.Revoked.Create(ctx, "sess1", []byte("{}"), jetstream.KeyTTL(time.Second)); err != nil {
		t.Fatal(err)
	}
	var put, gone bool
	for !gone {
		select {
		case e := <-w.Updates():
			if e == nil {
				continue
			}
			switch e.Operation() {
			case jetstream.KeyValuePut:
				put = true
			case jetstream.KeyValueDelete, jetstream.KeyValuePurge:
				gone = put
			}
		case <-ctx.Done():
			t.Fatal("no expiry marker seen")
		}
	}
	if _, err := s.Revoked.Get(ctx, "sess1"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("after TTL: %v", err)
	}
}

// TestClusterReplicas: three nodes, replicas 3; with one node stopped,
// writes and reads go on.
func TestClusterReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	c := natstest.StartCluster(t, 3)
	nc := c.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := natsstore.Open(ctx, nc, natsstore.Limits{Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Revoked.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Replicas != 3 {
		t.Fatalf("replicas: %+v", st)
	}
	if _, err := s.Assets.Put(ctx, "before", []byte("1")); err != nil {
		t.Fatal(err)
	}
	c.Stop(0)
	var putErr error
	// A new stream leader may take a moment; a put sent just before the
	// stop can go unanswered, so each try has its own deadline.
	for i := 0; i < 100; i++ {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		_, putErr = s.Assets.Put(pctx, "after", []byte("2"))
		pcancel()
		if putErr == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if putErr != nil {
		t.Fatal(putErr)
	}
	for _, k := range []string{"before", "after"} {
		if _, err := s.Assets.Get(ctx, k); err != nil {
			t.Errorf("get %s with a node down: %v", k, err)
		}
	}
}
