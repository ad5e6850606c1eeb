package cache

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"
)

// dripOrigin sends a 100-byte body one byte every gap, after its headers.
func dripOrigin(t *testing.T, gap time.Duration) *origin {
	return newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Header().Set("Cache-Control", "max-age=60")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		for range 100 {
			select {
			case <-time.After(gap):
			case <-r.Context().Done():
				return
			}
			w.Write([]byte{'d'})
			w.(http.Flusher).Flush()
		}
	})
}

// TestDeadlines: an origin that drips (a byte every 50 ms: the per-read
// timeout never fires) or never answers holds its coalesced viewers no
// longer than the minimum rate's window or the fetch deadline; viewers get
// a cut response (or 504 when nothing was sent), nothing is stored, and
// the next request fetches again.
func TestDeadlines(t *testing.T) {
	tests := []struct {
		name   string
		origin func(t *testing.T) *origin
		change func(*Config)
		cause  error
		status int // 0: headers sent, then cut
	}{
		{"drip, minimum rate", func(t *testing.T) *origin { return dripOrigin(t, 50*time.Millisecond) },
			func(c *Config) { c.MinRate, c.MinRateWindow = 200, 300*time.Millisecond }, errTooSlow, 0},
		{"drip, fetch deadline", func(t *testing.T) *origin { return dripOrigin(t, 50*time.Millisecond) },
			func(c *Config) { c.FetchTimeout = 400 * time.Millisecond }, errFetchTimeout, 0},
		{"no headers, fetch deadline", func(t *testing.T) *origin {
			return newOrigin(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		}, func(c *Config) { c.FetchTimeout = 300 * time.Millisecond }, errFetchTimeout, http.StatusGatewayTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.origin(t)
			cfg := testConfig(newClock())
			tc.change(&cfg)
			c := newTestCache(t, cfg)
			start := time.Now()
			var wg sync.WaitGroup
			results := make([]Result, 3)
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, results[i] = get(c, o.URL+"/seg.ts")
				}()
			}
			wg.Wait()
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("viewers held %v", d)
			}
			for i, res := range results {
				if !errors.Is(res.Err, tc.cause) {
					t.Errorf("viewer %d: err %v, want %v", i, res.Err, tc.cause)
				}
				switch {
				case tc.status != 0 && res.Status != tc.status:
					t.Errorf("viewer %d: status %d, want %d", i, res.Status, tc.status)
				case tc.status == 0 && (res.Status != 200 || !errors.Is(res.Err, ErrTruncated)):
					t.Errorf("viewer %d: %d %v, want a cut 200", i, res.Status, res.Err)
				}
			}
			if n := o.requests.Load(); n != 1 {
				t.Fatalf("%d origin requests for 3 coalesced viewers", n)
			}
			if st := c.Stats(); st.Objects != 0 || st.BytesReserved != 0 {
				t.Fatalf("Stats = %+v; want nothing stored or reserved", st)
			}
			get(c, o.URL+"/seg.ts")
			if n := o.requests.Load(); n != 2 {
				t.Fatalf("the next request made %d origin requests in all, want 2 (a new fetch)", n-1)
			}
		})
	}
}

// TestMinRateSparesSlowViewers: the minimum rate judges the origin only:
// a fast origin behind a viewer that reads slower than the minimum rate
// (pass-through mode, whose window holds the origin back) is not cut.
func TestMinRateSparesSlowViewers(t *testing.T) {
	body := payload(64 << 10)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	cfg := testConfig(newClock())
	cfg.MaxObjectBytes = 16 << 10 // pass-through
	cfg.MinRate, cfg.MinRateWindow = 64<<10, 100*time.Millisecond
	c := newTestCache(t, cfg)
	c.readChunk, c.passWindow = 4<<10, 8<<10
	sw := &slowWriter{header: http.Header{}, delay: 100 * time.Millisecond} // about 40 KB/s
	res := c.Serve(t.Context(), sw, &Request{Key: "k", URL: o.URL + "/big.mp4", Method: http.MethodGet, Header: http.Header{}})
	if res.Err != nil || sw.n != len(body) {
		t.Fatalf("err %v, %d of %d bytes", res.Err, sw.n, len(body))
	}
}

// slowWriter takes its time over every write.
type slowWriter struct {
	header http.Header
	delay  time.Duration
	n      int
}

func (w *slowWriter) Header() http.Header { return w.header }
func (w *slowWriter) WriteHeader(int)     {}
func (w *slowWriter) Write(b []byte) (int, error) {
	time.Sleep(w.delay)
	w.n += len(b)
	return len(b), nil
}
