package kvread

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/natsstore/natstest"
)

func bucket(t *testing.T, nc *nats.Conn, replicas int) jetstream.KeyValue {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "b", History: 1, Replicas: replicas, LimitMarkerTTL: time.Second})
		if err == nil {
			return kv
		}
		if ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestGet: values, revisions, and every way a key reads as absent.
func TestGet(t *testing.T) {
	_, nc := natstest.Single(t)
	kv := bucket(t, nc, 1)
	ctx := context.Background()
	rev, err := kv.Put(ctx, "a", []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "d", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "p", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := kv.Purge(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, "ttl", []byte("x"), jetstream.KeyTTL(time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		want string // "" when absent
	}{
		{"a", "one"},
		{"never", ""},
		{"d", ""},
		{"p", ""},
	} {
		e, err := Get(ctx, nc, "b", tc.key)
		switch {
		case tc.want == "" && !errors.Is(err, jetstream.ErrKeyNotFound):
			t.Errorf("%s: %q, %v; want ErrKeyNotFound", tc.key, e.Value, err)
		case tc.want != "" && (err != nil || string(e.Value) != tc.want || e.Revision != rev):
			t.Errorf("%s: %q rev %d, %v; want %q rev %d", tc.key, e.Value, e.Revision, err, tc.want, rev)
		}
	}
	// The key with a TTL reads until it expires, then its marker is absent.
	if e, err := Get(ctx, nc, "b", "ttl"); err != nil || string(e.Value) != "x" {
		t.Fatalf("ttl key before expiry: %q, %v", e.Value, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := Get(ctx, nc, "b", "ttl")
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("ttl key after expiry: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := Get(ctx, nc, "nobucket", "a"); err == nil {
		t.Error("a bucket that does not exist: no error")
	}
}

// TestReadAfterWrite: on a 3-node cluster with the bucket on three
// replicas, every read through a connection to another node sees the
// write acknowledged just before it.
func TestReadAfterWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	c := natstest.StartCluster(t, 3)
	urls := c.URLs()
	wc, err := nats.Connect(urls[0])
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	kv := bucket(t, wc, 3)
	rcs := make([]*nats.Conn, len(urls))
	for i, u := range urls {
		if rcs[i], err = nats.Connect(u); err != nil {
			t.Fatal(err)
		}
		defer rcs[i].Close()
	}
	ctx := context.Background()
	for i := range 1000 {
		key := fmt.Sprintf("k%d", i%7)
		val := fmt.Sprintf("v%d", i)
		rev, err := kv.Put(ctx, key, []byte(val))
		if err != nil {
			t.Fatal(err)
		}
		e, err := Get(ctx, rcs[i%len(rcs)], "b", key)
		if err != nil || string(e.Value) != val || e.Revision != rev {
			t.Fatalf("write %d: read %q rev %d, %v; want %q rev %d", i, e.Value, e.Revision, err, val, rev)
		}
	}
}
