package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// TestRun serves a directory through the example and fetches a segment
// with a token, without one, and with a traversal.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	media := filepath.Join(dir, "media", "vod", "t1")
	os.MkdirAll(media, 0o755)
	os.WriteFile(filepath.Join(media, "seg1.ts"), []byte("segment one"), 0o644)
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("not media"), 0o644)
	keysFile := filepath.Join(dir, "keys.json")
	secret := strings.Repeat("ab", 32)
	os.WriteFile(keysFile, []byte(`{"k1": "`+secret+`"}`), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-dir", filepath.Join(dir, "media"), "-keys", keysFile}, io.Discard, func(a string) { addrc <- a })
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("not serving after 10 s")
	}
	key := token.NewKeys(map[string]string{"k1": secret}).Lookup("k1")
	tok, err := (&smde.Signer{Key: key}).Sign(&smde.Policy{Paths: []string{"/vod/t1/"}, Expiry: "+1h"}, &smde.Viewer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/" + tok.Token + "/vod/t1/seg1.ts", 200, "segment one"},
		{"/vod/t1/seg1.ts", 401, ""},
		{"/" + tok.Token + "/vod/t1/../../../secret.txt", 401, ""},
	} {
		resp, err := http.Get("http://" + addr + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || (tc.body != "" && string(b) != tc.body) || strings.Contains(string(b), "not media") {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, resp.StatusCode, b, tc.status, tc.body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"-keys", filepath.Join(dir, "none.json")}, io.Discard, nil); err == nil {
		t.Fatal("a missing key file started the server")
	}
}
