package node_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/token/smde"
)

// TestFaultsOrigin: an origin that is down, slow, dripping or resetting
// mid-body: a cached copy is served stale while stale_if_error allows; a
// viewer with nothing cached gets 502 or 504 within the configured time
// (a cut connection once headers went out); nothing of a failed fetch is
// cached; no goroutine is left behind.
func TestFaultsOrigin(t *testing.T) { forEachEngine(t, testFaultsOrigin) }

func testFaultsOrigin(t *testing.T, engine string) {
	var mode atomic.Value // "ok", "slow", "drip", "reset", "500"
	mode.Store("ok")
	body := strings.Repeat("s", 4096)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case "slow":
			select {
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
			}
			return
		case "500":
			http.Error(w, "boom", 500)
			return
		case "drip", "reset":
			w.Header().Set("Content-Length", "4096")
			w.WriteHeader(200)
			w.Write([]byte(body[:100]))
			w.(http.Flusher).Flush()
			if mode.Load() == "reset" {
				c, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					c.(*net.TCPConn).SetLinger(0)
					c.Close() // RST mid-body
				}
				return
			}
			for i := 0; i < 50; i++ {
				select {
				case <-time.After(100 * time.Millisecond):
				case <-r.Context().Done():
					return
				}
				w.Write([]byte("d"))
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Header().Set("Cache-Control", "max-age=1")
		io.WriteString(w, body)
	}))
	defer origin.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String()
	dead.Close() // nothing listens there: connection refused

	const (
		headerTimeout = 400 * time.Millisecond
		fetchTimeout  = 1500 * time.Millisecond
		slack         = 2 * time.Second // scheduling on a shared machine; the bound is the config plus this
	)
	s, _ := startEdge(t, origin.URL, withEngine(engine, func(c *config.Edge) {
		c.Routes = []config.Route{{Prefix: "/vod/", Origin: origin.URL}, {Prefix: "/down/", Origin: deadURL}}
		c.Origin.ResponseHeaderTimeout = config.Duration(headerTimeout)
		c.Origin.FetchTimeout = config.Duration(fetchTimeout)
		c.Origin.MinRate, c.Origin.MinRateWindow = 1000, config.Duration(500*time.Millisecond)
		c.Cache.StaleIfError = config.Duration(time.Minute)
	}))
	tok, err := (&smde.Signer{Key: testKey}).Sign(&smde.Policy{Paths: []string{"/"}, Expiry: farFuture}, &smde.Viewer{})
	if err != nil {
		t.Fatal(err)
	}
	url := func(p string) string { return "http://" + s.Addr + "/" + tok.Token + p }
	hc := &http.Client{Timeout: 20 * time.Second}
	fetch := func(u string) (int, string, error, time.Duration) {
		t0 := time.Now()
		resp, err := hc.Get(u)
		if err != nil {
			return 0, "", err, time.Since(t0)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b), err, time.Since(t0)
	}
	before := runtime.NumGoroutine()

	// Cached, then expired: every failure before the headers serves the
	// stale copy.
	for i, m := range []string{"slow", "500"} {
		u := url("/vod/stale" + string(rune('a'+i)) + ".ts")
		mode.Store("ok")
		if st, b, err, _ := fetch(u); st != 200 || b != body || err != nil {
			t.Fatalf("warming %s: %d %v", u, st, err)
		}
		time.Sleep(1100 * time.Millisecond) // past max-age=1
		mode.Store(m)
		st, b, err, d := fetch(u)
		if st != 200 || b != body || err != nil {
			t.Errorf("origin %s, cached copy expired: %d (%d bytes) %v, want the stale copy", m, st, len(b), err)
		}
		if d > headerTimeout+slack {
			t.Errorf("origin %s: the stale copy took %v", m, d)
		}
	}

	// Nothing cached.
	for _, tc := range []struct {
		mode, path string
		status     int // 0: headers, then a cut body; -1: that or 502 (the reset may come before the viewer got anything)
		within     time.Duration
	}{
		{"ok", "/down/a.ts", 502, slack},
		{"slow", "/vod/slow.ts", 504, headerTimeout + slack},
		{"drip", "/vod/drip.ts", 0, fetchTimeout + slack},
		{"reset", "/vod/reset.ts", -1, slack},
	} {
		mode.Store(tc.mode)
		st, b, err, d := fetch(url(tc.path))
		cut := err != nil && len(b) < len(body)
		switch {
		case tc.status == -1 && !cut && st != 502:
			t.Errorf("%s %s: %d, %d bytes, err %v: want 502 or a cut body", tc.mode, tc.path, st, len(b), err)
		case tc.status > 0 && st != tc.status:
			t.Errorf("%s %s: %d %v, want %d", tc.mode, tc.path, st, err, tc.status)
		case tc.status == 0 && !cut:
			t.Errorf("%s %s: %d, %d bytes, err %v: want a cut body", tc.mode, tc.path, st, len(b), err)
		}
		if d > tc.within {
			t.Errorf("%s %s: answered in %v, bound %v", tc.mode, tc.path, d, tc.within)
		}
		// Nothing of it was cached: with the origin well again, the
		// whole object comes.
		mode.Store("ok")
		if st, b, err, _ := fetch(url(tc.path)); tc.path != "/down/a.ts" && (st != 200 || b != body || err != nil) {
			t.Errorf("%s %s, origin well again: %d (%d bytes) %v", tc.mode, tc.path, st, len(b), err)
		}
	}

	hc.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+5 {
		buf := make([]byte, 1<<20)
		t.Errorf("goroutines: %d before the faults, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}
