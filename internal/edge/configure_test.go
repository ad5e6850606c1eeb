package edge

import (
	"sync"
	"testing"

	"github.com/smd-media/smd/token/smde"
)

// TestConfigure: a reload changes routes, modes and status overrides for
// the next requests; a bad configuration or a change of mode changes
// nothing; requests keep being answered while settings change (run with
// -race).
func TestConfigure(t *testing.T) {
	h := newHarness(t, nil)
	expired := signFor(t, smde.Policy{Paths: []string{"/vod/"}, Expiry: "1700000000"}, smde.Viewer{})
	const viewer = "192.0.2.10:1"
	if w := h.do("GET", "/"+expired+"/vod/a.ts", nil, viewer); w.Code != 401 {
		t.Fatalf("before: %d", w.Code)
	}
	if w := h.do("GET", "/new/a.ts", nil, viewer); w.Code != 404 {
		t.Fatalf("before, unrouted: %d", w.Code)
	}
	next := Config{ID: "edge-test", Status: map[string]int{"expired": 410}, Routes: []Route{
		{Prefix: "/vod/", Origin: "http://origin.invalid"},
		{Prefix: "/new/", Origin: "http://origin.invalid", Mode: ModeOff},
	}}
	if err := h.edge.Configure(next); err != nil {
		t.Fatal(err)
	}
	if w := h.do("GET", "/"+expired+"/vod/a.ts", nil, viewer); w.Code != 410 {
		t.Errorf("after: %d, want the new status 410", w.Code)
	}
	if w := h.do("GET", "/new/a.ts", nil, viewer); w.Code != 200 {
		t.Errorf("after, the new off route: %d", w.Code)
	}
	for name, bad := range map[string]Config{
		"bad route":   {Routes: []Route{{Prefix: "vod/"}}},
		"bad status":  {Status: map[string]int{"stale": 410}, Routes: next.Routes},
		"bad proxy":   {TrustedProxies: []string{"300.0.0.1"}, Routes: next.Routes},
		"mode change": {Auth: true, Routes: next.Routes},
	} {
		if err := h.edge.Configure(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if w := h.do("GET", "/new/a.ts", nil, viewer); w.Code != 200 {
		t.Errorf("after refused reloads: %d, want the last good settings", w.Code)
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if w := h.do("GET", "/"+expired+"/vod/a.ts", nil, viewer); w.Code != 401 && w.Code != 410 {
					t.Errorf("during reloads: %d", w.Code)
					return
				}
			}
		}()
	}
	for i := range 200 {
		c := next
		if i%2 == 0 {
			c.Status = nil
		}
		if err := h.edge.Configure(c); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}
