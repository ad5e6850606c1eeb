package smdcaddy

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/origin"
	"github.com/smd-media/smd/token/smde"
)

// TestSampleOrigin: Caddy with the module and reverse_proxy in front of
// smd's sample origin; ffmpeg plays the HLS presentation through Caddy
// with a token bound to its address and a session, and the token does not
// play another title.
func TestSampleOrigin(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg is not installed: run scripts/test.sh, which installs it")
	}
	o, err := origin.New(origin.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var fetched atomic.Int64
	os := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		o.ServeHTTP(w, r)
	}))
	defer os.Close()
	f := newFixture(t)
	addr := freeAddr(t)
	run(t, caddyConfig(addr, map[string]any{"handler": "smd", "keys_file": f.keysFile, "routes": []any{map[string]any{"prefix": "/vod/"}}},
		proxyTo(os.URL)))

	tok := sign(t, smde.Policy{Paths: []string{"/vod/m1/"}, IP: true, Session: true, Expiry: "+1h"}, smde.Viewer{IP: "127.0.0.1", SessionID: "Play1"})
	master := "http://" + addr + "/" + tok + "/vod/m1/master.m3u8"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-i", master, "-map", "0", "-c", "copy", "-f", "null", "-")
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg through Caddy: %v\n%s", err, stderr.String())
	}
	if n := fetched.Load(); n < 4 {
		t.Errorf("the origin served %d requests for the whole presentation", n)
	}
	if c, _ := get(t, "http://"+addr+"/"+tok+"/vod/m2/master.m3u8"); c != 401 {
		t.Errorf("another title with the token: %d", c)
	}
}
