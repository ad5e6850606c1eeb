package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// TestCoalesceThousandColdRequests: 1,000 concurrent requests for one cold
// object make exactly one origin request, and every viewer gets the whole,
// identical body. The origin holds its response until every request has
// joined, so none of them is a plain cache hit.
func TestCoalesceThousandColdRequests(t *testing.T) {
	const viewers = 1000
	body := payload(256 << 10)
	want := sha256.Sum256(body)
	var joined sync.WaitGroup
	joined.Add(viewers)
	allJoined := make(chan struct{})
	go func() { joined.Wait(); close(allJoined) }()
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-allJoined:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		for b := body; len(b) > 0; b = b[min(len(b), 10000):] {
			w.Write(b[:min(len(b), 10000)])
			w.(http.Flusher).Flush()
		}
	})
	c := newTestCache(t, testConfig(newClock()))
	c.testHookJoin = func(*Request, *flight, bool) { joined.Done() }

	writers := make([]*hashWriter, viewers)
	results := make([]Result, viewers)
	var done sync.WaitGroup
	for i := range viewers {
		writers[i] = newHashWriter()
		done.Go(func() {
			results[i] = c.Serve(context.Background(), writers[i], &Request{Key: o.URL + "/seg.ts", URL: o.URL + "/seg.ts", Method: http.MethodGet})
		})
	}
	done.Wait()

	if n := o.requests.Load(); n != 1 {
		t.Fatalf("origin requests = %d; want 1", n)
	}
	counts := map[string]int{}
	for i, w := range writers {
		res := results[i]
		counts[res.CacheStatus]++
		if res.Status != 200 || w.status != 200 || res.Err != nil {
			t.Fatalf("viewer %d: %+v (recorded %d)", i, res, w.status)
		}
		if w.n != int64(len(body)) || res.BodyBytes != w.n || [32]byte(w.h.Sum(nil)) != want {
			t.Fatalf("viewer %d: %d bytes (result %d), digest differs: %v", i, w.n, res.BodyBytes, [32]byte(w.h.Sum(nil)) != want)
		}
	}
	if counts[Miss] != 1 || counts[Coalesced] != viewers-1 {
		t.Errorf("cache statuses %v; want 1 MISS and %d COALESCED", counts, viewers-1)
	}
	st := c.Stats()
	if st.OriginFetches != 1 || st.Misses != 1 || st.Coalesced != viewers-1 || st.OriginBytes != int64(len(body)) || st.ServedBytes != viewers*int64(len(body)) {
		t.Errorf("Stats = %+v", st)
	}
	c.testHookJoin = nil
	if _, res := get(c, o.URL+"/seg.ts"); res.CacheStatus != Hit {
		t.Errorf("after: %s; want HIT (%+v)", res.CacheStatus, c.Stats())
	}
}

// edgeServer serves c over real HTTP on loopback, as the edge does.
func edgeServer(t *testing.T, c *Cache, originURL string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.Serve(r.Context(), w, &Request{Key: r.URL.Path, URL: originURL + r.URL.Path, Method: r.Method, Header: r.Header})
	}))
	t.Cleanup(s.Close) // before the cache's cleanup: it waits for handlers
	return s
}

// halfOrigin sends the first half of body, then waits for release (or the
// fetch's cancellation, which it reports on cancelled).
type halfOrigin struct {
	*origin
	release   chan struct{}
	cancelled chan struct{}
}

func newHalfOrigin(t *testing.T, body []byte, chunked bool) *halfOrigin {
	h := &halfOrigin{release: make(chan struct{}), cancelled: make(chan struct{})}
	var once sync.Once
	h.origin = newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		if h.origin.requests.Load() > 1 {
			w.Write(body) // later requests: all at once
			return
		}
		if !chunked {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		select {
		case <-h.release:
			w.Write(body[len(body)/2:])
		case <-r.Context().Done():
			once.Do(func() { close(h.cancelled) })
		}
	})
	return h
}

// TestCoalesceStreamsBeforeOriginEnds: viewers get the first half of the
// body while the origin still holds the second: bytes are streamed as they
// arrive, not buffered whole. Over real HTTP, with a known and an unknown
// length.
func TestCoalesceStreamsBeforeOriginEnds(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			body := payload(1 << 20)
			o := newHalfOrigin(t, body, chunked)
			c := newTestCache(t, testConfig(newClock()))
			edge := edgeServer(t, c, o.URL)

			var resps []*http.Response
			for i := range 2 {
				resp, err := edge.Client().Get(edge.URL + "/seg.ts")
				if err != nil {
					t.Fatalf("viewer %d: %v", i, err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("viewer %d: status %d", i, resp.StatusCode)
				}
				if cl := resp.ContentLength; !chunked && cl != int64(len(body)) || chunked && cl != -1 {
					t.Errorf("viewer %d: Content-Length %d", i, cl)
				}
				resps = append(resps, resp)
			}
			for i, resp := range resps {
				first := make([]byte, len(body)/2)
				if _, err := io.ReadFull(resp.Body, first); err != nil {
					t.Fatalf("viewer %d: reading the first half: %v", i, err)
				}
				if !bytes.Equal(first, body[:len(body)/2]) {
					t.Fatalf("viewer %d: first half differs", i)
				}
			}
			// Both viewers have the first half; the origin has not sent the second.
			close(o.release)
			for i, resp := range resps {
				rest, err := io.ReadAll(resp.Body)
				if err != nil || !bytes.Equal(rest, body[len(body)/2:]) {
					t.Fatalf("viewer %d: second half: %d bytes, %v", i, len(rest), err)
				}
			}
			if n := o.requests.Load(); n != 1 {
				t.Errorf("origin requests = %d; want 1", n)
			}
		})
	}
}

// TestCoalesceRangeBeforeOriginEnds: a range within the bytes received is
// answered while the origin still holds the rest.
func TestCoalesceRangeBeforeOriginEnds(t *testing.T) {
	body := payload(100000)
	o := newHalfOrigin(t, body, false)
	c := newTestCache(t, testConfig(newClock()))
	defer close(o.release)
	rec, res := get(c, o.URL+"/seg.ts", "Range", "bytes=1000-1999")
	if res.Status != 206 || res.CacheStatus != Miss || !bytes.Equal(rec.Body.Bytes(), body[1000:2000]) {
		t.Fatalf("range: %d %s, %d bytes", res.Status, res.CacheStatus, rec.Body.Len())
	}
	if got := rec.Header().Get("Content-Range"); got != "bytes 1000-1999/100000" {
		t.Errorf("Content-Range = %q", got)
	}
}

// TestCoalesceSlowViewer: a viewer that does not read holds neither the
// origin read nor the other viewers: the origin finishes, the fast viewer
// gets everything and the object is stored while the slow one is stuck.
func TestCoalesceSlowViewer(t *testing.T) {
	body := payload(2 << 20)
	originDone := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(originDone)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		for b := body; len(b) > 0; b = b[min(len(b), 64<<10):] {
			if _, err := w.Write(b[:min(len(b), 64<<10)]); err != nil {
				return
			}
		}
	})
	c := newTestCache(t, testConfig(newClock()))
	url := o.URL + "/seg.ts"
	joined := make(chan struct{}, 2)
	c.testHookJoin = func(*Request, *flight, bool) { joined <- struct{}{} }

	slow := newGateWriter()
	slow.hold = make(chan struct{})
	slowDone := make(chan Result, 1)
	go func() { slowDone <- c.Serve(t.Context(), slow, &Request{Key: url, URL: url, Method: "GET"}) }()
	<-joined
	fast := newGateWriter()
	fastRes := c.Serve(t.Context(), fast, &Request{Key: url, URL: url, Method: "GET"})
	<-joined

	wait(t, originDone, "the origin to send everything")
	wait(t, slow.first, "the slow viewer's first write")
	if fastRes.Status != 200 || fastRes.CacheStatus != Coalesced || !bytes.Equal(fast.bytes(), body) {
		t.Fatalf("fast viewer: %+v, %d bytes", fastRes, len(fast.bytes()))
	}
	if st := c.Stats(); st.Objects != 1 {
		t.Errorf("object not stored while the slow viewer is stuck: %+v", st)
	}
	if got := len(slow.bytes()); got >= len(body) {
		t.Fatalf("slow viewer has %d bytes; the test needs it stuck", got)
	}
	close(slow.hold)
	res := <-slowDone
	if res.Status != 200 || res.CacheStatus != Miss || !bytes.Equal(slow.bytes(), body) {
		t.Fatalf("slow viewer: %+v, %d bytes", res, len(slow.bytes()))
	}
}

// TestCoalesceStarterLeaves: the viewer that started the fetch goes away;
// the fetch goes on for the other viewer and completes into the cache.
func TestCoalesceStarterLeaves(t *testing.T) {
	body := payload(200000)
	o := newHalfOrigin(t, body, false)
	c := newTestCache(t, testConfig(newClock()))
	url := o.URL + "/seg.ts"
	joined := make(chan bool, 2)
	c.testHookJoin = func(_ *Request, _ *flight, started bool) { joined <- started }

	ctxA, cancelA := context.WithCancel(t.Context())
	a, b := newGateWriter(), newGateWriter()
	resA, resB := make(chan Result, 1), make(chan Result, 1)
	go func() { resA <- c.Serve(ctxA, a, &Request{Key: url, URL: url, Method: "GET"}) }()
	if started := <-joined; !started {
		t.Fatal("first viewer did not start the fetch")
	}
	go func() { resB <- c.Serve(t.Context(), b, &Request{Key: url, URL: url, Method: "GET"}) }()
	if started := <-joined; started {
		t.Fatal("second viewer started a fetch of its own")
	}
	wait(t, a.first, "the starter's first bytes")
	wait(t, b.first, "the second viewer's first bytes")

	cancelA()
	ra := <-resA // the starter is gone
	if !errors.Is(ra.Err, context.Canceled) || ra.CacheStatus != Miss {
		t.Errorf("starter: %+v; want MISS, cancelled", ra)
	}
	close(o.release)
	rb := <-resB
	if rb.Status != 200 || rb.Err != nil || !bytes.Equal(b.bytes(), body) {
		t.Fatalf("second viewer: %+v, %d bytes", rb, len(b.bytes()))
	}
	if _, res := get(c, url); res.CacheStatus != Hit {
		t.Errorf("after: %s; want HIT", res.CacheStatus)
	}
	if n := o.requests.Load(); n != 1 {
		t.Errorf("origin requests = %d; want 1", n)
	}
}

// TestCoalesceAllViewersLeave: when the last viewer goes, the origin fetch
// is cancelled and its partial body is not stored.
func TestCoalesceAllViewersLeave(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			body := payload(200000)
			o := newHalfOrigin(t, body, chunked)
			defer close(o.release)
			c := newTestCache(t, testConfig(newClock()))
			url := o.URL + "/seg.ts"
			ctx, cancel := context.WithCancel(t.Context())
			w := newGateWriter()
			done := make(chan Result, 1)
			go func() { done <- c.Serve(ctx, w, &Request{Key: url, URL: url, Method: "GET"}) }()
			wait(t, w.first, "first bytes")
			cancel()
			wait(t, o.cancelled, "the origin to see its request cancelled")
			if res := <-done; !errors.Is(res.Err, context.Canceled) {
				t.Errorf("viewer: %+v; want cancelled", res)
			}
			rec, res := get(c, url)
			if res.CacheStatus != Miss || !bytes.Equal(rec.Body.Bytes(), body) {
				t.Errorf("next request: %s, %d bytes; want a new MISS with the whole body", res.CacheStatus, rec.Body.Len())
			}
			if n := o.requests.Load(); n != 2 {
				t.Errorf("origin requests = %d; want 2", n)
			}
		})
	}
}

// TestJoinLooksAgain reproduces the race that the second store lookup in
// join prevents (as groupcache's Group.load does): a request misses the
// store; before it looks for a fetch to join, another request fetches and
// stores the object, and its fetch ends. The first request must find the
// stored object, not fetch it again.
func TestJoinLooksAgain(t *testing.T) {
	o := staticOrigin(t, []byte("segment"), nil)
	c := newTestCache(t, testConfig(newClock()))
	url := o.URL + "/seg.ts"
	interleaved := false
	c.testHookMiss = func(r *Request) {
		if interleaved {
			return // the interleaved request itself
		}
		interleaved = true
		// Between the first request's lookup and its join: another request
		// fetches and stores the object, and its fetch ends.
		if _, res := get(c, url); res.CacheStatus != Miss {
			t.Errorf("interleaved request: %s; want MISS", res.CacheStatus)
		}
	}
	rec, res := get(c, url)
	if res.CacheStatus != Hit || rec.Body.String() != "segment" {
		t.Errorf("first request: %s %q; want a HIT found by the second look", res.CacheStatus, rec.Body)
	}
	if n := o.requests.Load(); n != 1 {
		t.Errorf("origin requests = %d; want 1", n)
	}
}

// TestPassWindowBounded: an object too large to store is shared by the
// viewers that asked for it together, through a window of bounded memory.
// While one viewer is stuck, the fetch stops a window ahead of it (the
// stuck viewer paces the others only past the window); once it moves,
// both get every byte and the buffer stays within the window.
func TestPassWindowBounded(t *testing.T) {
	const window, chunk, maxObject = 16 << 10, 4 << 10, 64 << 10
	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			body := payload(1 << 20)
			release := make(chan struct{})
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				<-release
				if !chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				for b := body; len(b) > 0; b = b[min(len(b), 10000):] {
					if _, err := w.Write(b[:min(len(b), 10000)]); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			})
			cfg := testConfig(newClock())
			cfg.MaxObjectBytes = maxObject
			c := newTestCache(t, cfg)
			c.readChunk, c.passWindow = chunk, window
			url := o.URL + "/big.mp4"
			var fl *flight
			fetchWaits := make(chan struct{})
			var waitOnce sync.Once
			joined := make(chan struct{}, 2)
			c.testHookJoin = func(_ *Request, f *flight, _ bool) {
				f.mu.Lock()
				f.testHookWait = func() { waitOnce.Do(func() { close(fetchWaits) }) }
				f.mu.Unlock()
				fl = f
				joined <- struct{}{}
			}

			var maxBuf int
			slow, fast := newGateWriter(), newGateWriter()
			slow.hold = make(chan struct{})
			slow.onWrite = func() {
				fl.mu.Lock()
				if fl.pass && fl.base > 0 {
					maxBuf = max(maxBuf, cap(fl.buf))
				}
				fl.mu.Unlock()
			}
			resSlow, resFast := make(chan Result, 1), make(chan Result, 1)
			go func() { resSlow <- c.Serve(t.Context(), slow, &Request{Key: url, URL: url, Method: "GET"}) }()
			<-joined
			go func() { resFast <- c.Serve(t.Context(), fast, &Request{Key: url, URL: url, Method: "GET"}) }()
			<-joined
			close(release)

			// The slow viewer is stuck in its first write: the fetch must
			// stop within a window (or, for an unknown length, just past
			// MaxObjectBytes, where it learnt the body is too large).
			wait(t, fetchWaits, "the fetch to wait for the stuck viewer")
			limit := int64(window + chunk)
			if chunked {
				limit = maxObject + 1
			}
			if got := c.Stats().OriginBytes; got > limit {
				t.Errorf("fetch read %d bytes ahead of a stuck viewer; want at most %d", got, limit)
			}
			close(slow.hold)
			for _, r := range []struct {
				name string
				res  chan Result
				w    *gateWriter
			}{{"slow", resSlow, slow}, {"fast", resFast, fast}} {
				res := <-r.res
				if res.Status != 200 || res.CacheStatus != Bypass || res.Err != nil || !bytes.Equal(r.w.bytes(), body) {
					t.Errorf("%s viewer: %+v, %d bytes", r.name, res, len(r.w.bytes()))
				}
			}
			if maxBuf > window+chunk {
				t.Errorf("pass buffer reached %d bytes; want at most %d", maxBuf, window+chunk)
			}
			if st := c.Stats(); st.OriginFetches != 1 || st.Objects != 0 || st.BytesReserved != 0 || st.Passthroughs != 2 {
				t.Errorf("Stats = %+v; want one fetch, two passthroughs, nothing stored or reserved", st)
			}
		})
	}
}

// TestCloseEndsFetches: Close cancels fetches in progress, their viewers
// return, no goroutine of the package remains (checked by newTestCache),
// and afterwards stored objects are served while misses get 503.
func TestCloseEndsFetches(t *testing.T) {
	body := payload(100000)
	o := newHalfOrigin(t, body, false)
	defer close(o.release)
	stored := staticOrigin(t, []byte("kept"), nil)
	c := newTestCache(t, testConfig(newClock()))
	if _, res := get(c, stored.URL+"/kept.ts"); res.CacheStatus != Miss {
		t.Fatalf("priming: %s", res.CacheStatus)
	}
	var fl *flight
	c.testHookJoin = func(_ *Request, f *flight, _ bool) { fl = f }
	w := newGateWriter()
	done := make(chan Result, 1)
	go func() {
		done <- c.Serve(t.Context(), w, &Request{Key: "stuck", URL: o.URL + "/stuck.ts", Method: "GET"})
	}()
	wait(t, w.first, "first bytes")
	c.Close()
	// Close has waited for the fetch: it has ended already.
	fl.mu.Lock()
	state := fl.state
	fl.mu.Unlock()
	if state != failed {
		t.Errorf("fetch state %d right after Close; want %d (ended)", state, failed)
	}
	if res := <-done; !errors.Is(res.Err, ErrTruncated) {
		t.Errorf("viewer of a fetch cut by Close: %+v; want truncated", res)
	}
	checkNoCacheGoroutines(t)
	if _, res := get(c, stored.URL+"/kept.ts"); res.CacheStatus != Hit {
		t.Errorf("stored object after Close: %s; want HIT", res.CacheStatus)
	}
	if rec, res := get(c, stored.URL+"/other.ts"); res.Status != 503 || rec.Code != 503 || !errors.Is(res.Err, ErrClosed) {
		t.Errorf("miss after Close: %+v", res)
	}
}
