package node_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// TestKeyFileReload: once a key leaves the edge's key file (or its secret
// changes), no token signed with it is accepted, though the edge verified
// (and cached) that very token a moment before; a key added to the file
// starts verifying without a restart.
func TestKeyFileReload(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "seg") }))
	defer origin.Close()
	var keysFile string
	s, _ := startEdge(t, origin.URL, func(c *config.Edge) {
		c.KeysReload = config.Duration(20 * time.Millisecond)
		keysFile = c.KeysFile
	})
	k2 := &token.Key{ID: "k2", Secret: []byte(strings.Repeat("7b", 64))}
	url := func(k *token.Key) string {
		tok, err := (&smde.Signer{Key: k}).Sign(&smde.Policy{Paths: []string{"/vod/"}, Expiry: farFuture}, &smde.Viewer{})
		if err != nil {
			t.Fatal(err)
		}
		return "http://" + s.Addr + "/" + tok.Token + "/vod/a.ts"
	}
	status := func(u string) int {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	writeKeys := func(keys ...*token.Key) {
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%q: %q", k.ID, k.Secret))
		}
		// A new modification time even within the file system's clock
		// resolution: the size changes, or the time is set.
		if err := os.WriteFile(keysFile, []byte("{"+strings.Join(parts, ", ")+"}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		future := time.Now().Add(time.Duration(len(parts)) * time.Second)
		os.Chtimes(keysFile, future, future)
	}
	waitStatus := func(what, u string, want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for status(u) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: still %d, want %d", what, status(u), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	u1 := url(testKey)
	if st := status(u1); st != 200 {
		t.Fatalf("a token of k1: %d", st)
	}
	if st := status(url(k2)); st != 401 {
		t.Fatalf("a token of k2 before it is in the file: %d", st)
	}
	writeKeys(k2)
	waitStatus("a token of k2 once added", url(k2), 200)
	if st := status(u1); st != 401 {
		t.Fatalf("the cached token of k1, removed from the file: %d", st)
	}
	if st := status(url(testKey)); st != 401 {
		t.Fatalf("a new token of k1, removed from the file: %d", st)
	}
	// k1 back with another secret: its old tokens stay refused.
	writeKeys(k2, &token.Key{ID: "k1", Secret: []byte(strings.Repeat("00", 64))})
	time.Sleep(200 * time.Millisecond)
	if st := status(u1); st != 401 {
		t.Fatalf("a token of k1's old secret after k1 changed: %d", st)
	}
	// A broken file keeps the last good keys.
	os.WriteFile(keysFile, []byte("{not json"), 0o600)
	time.Sleep(200 * time.Millisecond)
	if st := status(url(k2)); st != 200 {
		t.Fatalf("k2 after the file broke: %d", st)
	}
}
