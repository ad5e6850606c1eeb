package node

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/origin"
)

// testLog is a quiet logger; SMD_TEST_LOG=1 shows the nodes' logs.
func testLog(t testing.TB, name string) *slog.Logger {
	if os.Getenv("SMD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil)).With("node", name)
	}
	return slog.New(slog.DiscardHandler)
}

// sampleOrigin serves smd's sample media on loopback.
func sampleOrigin(t testing.TB) string {
	t.Helper()
	o, err := origin.New(origin.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewServer(o)
	t.Cleanup(s.Close)
	return s.URL
}

// serveConfig is a smd serve or smd control configuration on loopback.
func serveConfig(t testing.TB, embedded bool, originURL string) *config.Serve {
	t.Helper()
	c, err := config.LoadServe("", embedded, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	c.ID = "serve"
	c.DataDir = t.TempDir()
	c.Listen = "127.0.0.1:0"
	c.Admin.Listen = "127.0.0.1:0"
	c.NATS.Heartbeat = config.Duration(100 * time.Millisecond)
	c.Routes = []config.Route{{Prefix: "/", Origin: originURL}}
	c.Control.PlaybackScheme = "http"
	return c
}

// startServe validates cfg and starts smd serve with it, closed when the
// test ends (a test may close it earlier).
func startServe(t testing.TB, cfg *config.Serve) *Node {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	n, err := StartServe(ctx, cfg, "test", testLog(t, "serve"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// edgeConfig is a smd edge --nats configuration on loopback.
func edgeConfig(t testing.TB, id string, urls []string, originURL string, replicas int) *config.Edge {
	t.Helper()
	c, err := config.LoadEdge("", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	c.ID = id
	c.DataDir = t.TempDir()
	c.Listen = "127.0.0.1:0"
	c.Admin.Listen = "127.0.0.1:0"
	c.NATS.URLs = urls
	c.NATS.Replicas = replicas
	c.NATS.Heartbeat = config.Duration(100 * time.Millisecond)
	c.Routes = []config.Route{{Prefix: "/", Origin: originURL}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// adminClient reads the admin token smd serve wrote and returns a client.
func adminClient(t testing.TB, dataDir, base string) *client.Client {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(dataDir, "api-keys.admin"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(base, strings.TrimSpace(string(tok)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func status(t testing.TB, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func get(t testing.TB, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const assetJSON = `{"id": "m1", "url_path": "/vod/m1/master.m3u8", "endpoint_hostname": "%s",
 "token_policy": {"ip": true, "ssn": true, "paths": ["/vod/m1/"], "exp": "+2h"}}`

// primary returns the id of the primary key.
func primary(t testing.TB, c *client.Client) string {
	t.Helper()
	ks, err := c.ListKeys(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		if k.State == control.KeyPrimary {
			return k.ID
		}
	}
	t.Fatalf("no primary key: %+v", ks)
	return ""
}

// kidOf returns the key id in the header of a playback URL's token.
func kidOf(t testing.TB, playbackURL string) string {
	t.Helper()
	u, err := url.Parse(playbackURL)
	if err != nil {
		t.Fatal(err)
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	parts := strings.Split(seg, ".")
	if len(parts) < 3 {
		t.Fatalf("no token in %s", playbackURL)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[len(parts)-3])
	if err != nil {
		t.Fatal(err)
	}
	var h struct{ Kid string }
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// startServeWithAsset runs smd serve on loopback in front of the sample
// origin (closed at the end of the test) and creates the asset of
// asset, a format whose one %s is the edge's address; it returns the node
// and an admin client of its API.
func startServeWithAsset(ctx context.Context, t testing.TB, asset string) (*Node, *client.Client) {
	t.Helper()
	cfg := serveConfig(t, true, sampleOrigin(t))
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := StartServe(ctx, cfg, "test", testLog(t, "serve"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	api := adminClient(t, cfg.DataDir, "http://"+n.Edge.Addr)
	if _, err := api.CreateAsset(ctx, []byte(fmt.Sprintf(asset, n.Edge.Addr))); err != nil {
		t.Fatal(err)
	}
	return n, api
}

// segment turns a playback URL of the master playlist into that of a
// segment under the same token.
func segment(u string) string {
	return strings.Replace(u, "master.m3u8", "init-1.m4s", 1)
}

// TestServe runs smd serve: embedded NATS, the API under /v1/ on the
// edge, an asset, a token API call, playback, revocation, and a key
// rotation that refuses no token.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, api := startServeWithAsset(ctx, t, assetJSON)
	base := "http://" + n.Edge.Addr
	tok, err := api.Token(ctx, "m1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.PlaybackURL, base+"/") || tok.SessionID == "" || tok.TokenPolicy.IPValue != "127.0.0.1" {
		t.Fatalf("token: %+v", tok)
	}
	for _, u := range []string{tok.PlaybackURL, segment(tok.PlaybackURL)} {
		if code := status(t, u); code != 200 {
			t.Fatalf("GET %s: %d", u, code)
		}
	}
	if code := status(t, strings.Replace(tok.PlaybackURL, "/vod/m1/", "/vod/m2/", 1)); code != 401 {
		t.Fatalf("another title with the token: %d", code)
	}

	// Revocation reaches the edge.
	if _, err := api.Revoke(ctx, tok.SessionID, "test", time.Hour); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the edge to refuse the revoked session", func() bool { return status(t, tok.PlaybackURL) == 403 })
	if err := api.Unrevoke(ctx, tok.SessionID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the edge to serve the unrevoked session", func() bool { return status(t, tok.PlaybackURL) == 200 })

	// Rotation: the old token keeps working, tokens of the new key work.
	old := primary(t, api)
	if _, err := api.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rotation", func() bool { return primary(t, api) != old })
	if code := status(t, tok.PlaybackURL); code != 200 {
		t.Fatalf("token of the former primary after rotation: %d", code)
	}
	waitFor(t, "the token API to sign with the new primary", func() bool {
		t2, err := api.Token(ctx, "m1", nil)
		return err == nil && kidOf(t, t2.PlaybackURL) != old && status(t, t2.PlaybackURL) == 200
	})
}
