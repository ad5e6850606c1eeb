package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable time source for freshness decisions.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testConfig is a valid Config with generous timeouts and the clock.
func testConfig(clk *clock) Config {
	return Config{
		MaxBytes:              64 << 20,
		MaxObjectBytes:        8 << 20,
		PlaylistTTL:           2 * time.Second,
		SegmentTTL:            24 * time.Hour,
		StaleIfError:          time.Minute,
		ConnectTimeout:        5 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ReadTimeout:           30 * time.Second,
		Now:                   clk.Now,
	}
}

// newTestCache returns a Cache that is closed at the end of the test, after
// which no goroutine of the package may remain.
func newTestCache(t testing.TB, cfg Config) *Cache {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		checkNoCacheGoroutines(t)
	})
	return c
}

// checkNoCacheGoroutines fails if a goroutine runs code of this package
// (outside tests). Close waits for every fetch goroutine, so a leftover one
// is a leak; the loop only gives a timer goroutine that fired during Close
// the moment it needs to return.
func checkNoCacheGoroutines(t testing.TB) {
	t.Helper()
	var leaked []string
	for deadline := time.Now().Add(2 * time.Second); ; runtime.Gosched() {
		leaked = cacheGoroutines()
		if len(leaked) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(leaked) > 0 {
		t.Errorf("%d goroutines of package cache left after Close:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
	}
}

func cacheGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		for line := range strings.SplitSeq(g, "\n") {
			line = strings.TrimSpace(line)
			if strings.Contains(line, "/internal/cache/") && strings.Contains(line, ".go:") && !strings.Contains(line, "_test.go:") {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// origin is a test origin on loopback counting its requests.
type origin struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	last     *http.Request
}

// newOrigin serves h, closed at the end of the test.
func newOrigin(t testing.TB, h http.HandlerFunc) *origin {
	t.Helper()
	o := &origin{}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		o.mu.Lock()
		o.last = r.Clone(context.Background())
		o.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *origin) lastRequest() *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// staticOrigin serves body, with its Content-Length, at every path with
// the given headers.
func staticOrigin(t testing.TB, body []byte, header map[string]string) *origin {
	length := strconv.Itoa(len(body))
	return newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Length", length)
		w.Write(body)
	})
}

// payload is n deterministic pseudo-random bytes.
func payload(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(n), byte(n >> 8), byte(n >> 16)})
	r.Read(b)
	return b
}

// do runs one request through c with a ResponseRecorder.
func do(c *Cache, method, url string, header http.Header) (*httptest.ResponseRecorder, Result) {
	rec := httptest.NewRecorder()
	if header == nil {
		header = http.Header{}
	}
	res := c.Serve(context.Background(), rec, &Request{Key: url, URL: url, Method: method, Header: header})
	return rec, res
}

func get(c *Cache, url string, kv ...string) (*httptest.ResponseRecorder, Result) {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return do(c, http.MethodGet, url, h)
}

// hashWriter is a ResponseWriter that keeps only a digest of the body.
type hashWriter struct {
	header http.Header
	status int
	n      int64
	h      hashState
}

type hashState interface {
	io.Writer
	Sum([]byte) []byte
}

func newHashWriter() *hashWriter {
	return &hashWriter{header: http.Header{}, h: sha256.New()}
}

func (w *hashWriter) Header() http.Header { return w.header }
func (w *hashWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *hashWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += int64(len(p))
	return w.h.Write(p)
}

// gateWriter is a ResponseWriter that signals its first body byte, and
// whose writes can be held.
type gateWriter struct {
	header    http.Header
	status    int
	mu        sync.Mutex
	body      bytes.Buffer
	first     chan struct{} // closed at the first body byte
	hold      chan struct{} // when non-nil, each Write waits for it to close
	onWrite   func()
	onceFirst sync.Once
}

func newGateWriter() *gateWriter {
	return &gateWriter{header: http.Header{}, first: make(chan struct{})}
}

func (w *gateWriter) Header() http.Header { return w.header }
func (w *gateWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *gateWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.mu.Lock()
	w.body.Write(p)
	w.mu.Unlock()
	if len(p) > 0 {
		w.onceFirst.Do(func() { close(w.first) })
	}
	if w.onWrite != nil {
		w.onWrite()
	}
	if w.hold != nil {
		<-w.hold
	}
	return len(p), nil
}
func (w *gateWriter) Flush() {}

func (w *gateWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.body.Bytes())
}

// wait fails the test if ch does not close within a generous time. It only
// bounds a test that would otherwise hang; it never orders events.
func wait(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}
