package demo

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/timeline"
)

func get(t *testing.T, url string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// TestDemo: smd demo on one address serves the site at "/", the API under
// /v1/ (through the signing proxy: the API's own listener refuses an
// unsigned request), the media under the token check, and /time
// unchecked; its assets exist for HLS and DASH, VOD and live; the API's
// detector list, timeline and revoked search work over the real NATS; a
// second demo on the same address says the port is taken.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	d, err := Start(ctx, Config{Listen: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !strings.HasPrefix(d.URL, "http://127.0.0.1:") || d.DataDir != dir {
		t.Fatalf("URL %q, data %q", d.URL, d.DataDir)
	}
	base := strings.TrimSuffix(d.URL, "/")

	st, h, body := get(t, base+"/")
	if st != 200 || !strings.Contains(string(body), "smd demo") || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("site: %d %q", st, h)
	}
	if st, _, _ := get(t, base+"/static/vendor/hls.js/hls.min.js"); st != 200 {
		t.Errorf("hls.js: %d", st)
	}
	if st, _, _ := get(t, base+"/nothing-here"); st != 404 {
		t.Errorf("unknown page: %d", st)
	}
	if st, _, _ := get(t, base+"/time"); st != 200 {
		t.Errorf("/time: %d", st)
	}
	// Media without a token: refused by the edge, not served by the site.
	if st, _, _ := get(t, base+"/vod/demo-hls/master.m3u8"); st != 401 && st != 403 {
		t.Errorf("media without a token: %d", st)
	}

	// The API under /v1/, signed on the way; its own listener wants
	// signatures.
	admin, err := os.ReadFile(d.AdminKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	auth := "Bearer " + strings.TrimSpace(string(admin))
	st, _, b := get(t, base+"/v1/keys", "Authorization", auth)
	if st != 200 {
		t.Fatalf("/v1/keys through the edge: %d %s", st, b)
	}
	// The key ring says each key's times, and the primary's next rotation
	// (the default interval, 7 days, after its promotion).
	var keys struct{ Items []control.KeyInfo }
	if err := json.Unmarshal(b, &keys); err != nil || len(keys.Items) == 0 {
		t.Fatalf("keys: %v %s", err, b)
	}
	if k := keys.Items[0]; k.State != "primary" || k.Source != "generated" || k.Alg != "HS256" || k.PromotedAt.IsZero() ||
		!k.NextRotation.Equal(k.PromotedAt.Add(7*24*time.Hour)) {
		t.Errorf("primary key %+v", k)
	}
	if st, _, b := get(t, "http://"+d.Node.APIAddr+"/v1/keys", "Authorization", auth); st != 401 || !strings.Contains(string(b), "signature") {
		t.Errorf("/v1/keys unsigned at the API's own listener: %d %s", st, b)
	}

	api, err := client.New(base, strings.TrimSpace(string(admin)))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range Assets {
		as, err := api.Asset(ctx, a.ID)
		if err != nil {
			t.Fatalf("asset %s: %v", a.ID, err)
		}
		if as.URLPath != a.Path || !as.TokenPolicy.Session {
			t.Errorf("asset %s: %+v", a.ID, as)
		}
		// The public token endpoint: a playback URL on this host, over
		// http (the scheme the request came by), that plays.
		st, _, b := get(t, base+"/v1/token?id="+a.ID, "User-Agent", "DemoTest/1")
		if st != 200 {
			t.Fatalf("token %s: %d %s", a.ID, st, b)
		}
		var tok client.Token
		if err := json.Unmarshal(b, &tok); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok.PlaybackURL, base+"/") {
			t.Errorf("playback URL %q not on %s", tok.PlaybackURL, base)
		}
		if st, _, b := get(t, tok.PlaybackURL, "User-Agent", "DemoTest/1"); st != 200 || len(b) == 0 {
			t.Errorf("play %s: %d", a.ID, st)
		}
	}

	// Revoke a session and find it again by prefix, through the index.
	tok, err := api.Token(ctx, "demo_hls_vod", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Revoke(ctx, tok.SessionID, "test", time.Hour); err != nil {
		t.Fatal(err)
	}
	// The edge learns the revocation from its NATS watch, a moment after
	// the API answered (more than a moment on a loaded machine).
	for until := time.Now().Add(10 * time.Second); ; {
		st, _, _ := get(t, tok.PlaybackURL)
		if st == 403 {
			break
		}
		if time.Now().After(until) {
			t.Errorf("revoked: %d", st)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _, b := get(t, base+"/v1/sessions/revoked?prefix="+tok.SessionID[:4], "Authorization", auth)
		var page struct {
			Items []control.Revocation `json:"items"`
			Total *int                 `json:"total"`
		}
		json.Unmarshal(b, &page)
		if st == 200 && page.Total != nil && len(page.Items) == 1 && page.Items[0].SessionID == tok.SessionID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked search: %d %s", st, b)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Its timeline, from the access stream: the allowed request and the
	// refused one.
	deadline = time.Now().Add(15 * time.Second)
	for {
		st, _, b := get(t, base+"/v1/sessions/"+tok.SessionID+"/timeline?since=5m", "Authorization", auth)
		var tl timeline.Timeline
		json.Unmarshal(b, &tl)
		if st == 200 && tl.Verdicts["revoked"] >= 1 && tl.Requests >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timeline: %d %s", st, b)
		}
		time.Sleep(300 * time.Millisecond)
	}
	// The detector's top sessions, over NATS.
	deadline = time.Now().Add(15 * time.Second)
	for {
		st, _, b := get(t, base+"/v1/sessions/top?limit=5", "Authorization", auth)
		var top control.TopSessions
		json.Unmarshal(b, &top)
		if st == 200 && len(top.Items) > 0 && top.Note == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("top: %d %s", st, b)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// A second demo on the same address.
	_, err = Start(ctx, Config{Listen: strings.TrimPrefix(base, "http://"), DataDir: filepath.Join(t.TempDir(), "b")})
	var taken *PortTakenError
	if !errors.As(err, &taken) || !strings.Contains(err.Error(), "--listen") {
		t.Errorf("second demo: %v", err)
	}
}

// TestStartErrors: bad addresses and URLs are named.
func TestStartErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"not host:port", Config{Listen: "8080"}, "--listen"},
		{"taken", Config{Listen: ln.Addr().String()}, "already in use"},
		{"bad public URL", Config{Listen: "127.0.0.1:0", PublicURL: "ftp://x"}, "--public-url"},
		{"public URL with a path", Config{Listen: "127.0.0.1:0", PublicURL: "http://x/y"}, "--public-url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.DataDir = t.TempDir()
			d, err := Start(context.Background(), tc.cfg)
			if err == nil {
				d.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
}
