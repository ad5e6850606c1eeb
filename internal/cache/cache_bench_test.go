package cache

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that drops the body and reuses its
// header map, so a benchmark measures the cache, not the writer.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// primedCache returns a cache holding one object of size bytes under key.
func primedCache(b *testing.B, size int, key string) *Cache {
	b.Helper()
	o := staticOrigin(b, payload(size), map[string]string{"Content-Type": "video/mp2t", "Cache-Control": "max-age=86400", "ETag": `"e"`})
	cfg := testConfig(newClock())
	c := newTestCache(b, cfg)
	if _, res := do(c, http.MethodGet, o.URL+key, nil); res.CacheStatus != Miss {
		b.Fatalf("priming: %+v", res)
	}
	return c
}

func BenchmarkHit(b *testing.B) {
	for _, size := range []int{1 << 10, 200 << 10} {
		b.Run(fmt.Sprintf("%dKB/discard", size>>10), func(b *testing.B) {
			c := primedCache(b, size, "/seg.ts")
			url := c.anyKey()
			r := &Request{Key: url, URL: url, Method: http.MethodGet, Header: http.Header{}}
			w := &discardWriter{header: make(http.Header, 16)}
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				clear(w.header)
				if res := c.Serve(ctx, w, r); res.CacheStatus != Hit {
					b.Fatalf("not a hit: %+v", res)
				}
			}
		})
		b.Run(fmt.Sprintf("%dKB/recorder", size>>10), func(b *testing.B) {
			c := primedCache(b, size, "/seg.ts")
			url := c.anyKey()
			r := &Request{Key: url, URL: url, Method: http.MethodGet, Header: http.Header{}}
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if res := c.Serve(ctx, httptest.NewRecorder(), r); res.CacheStatus != Hit {
					b.Fatalf("not a hit: %+v", res)
				}
			}
		})
	}
}

// BenchmarkHitRange: a 64 KiB range of a stored 200 KiB object.
func BenchmarkHitRange(b *testing.B) {
	c := primedCache(b, 200<<10, "/seg.ts")
	url := c.anyKey()
	r := &Request{Key: url, URL: url, Method: http.MethodGet, Header: http.Header{"Range": {"bytes=65536-131071"}}}
	w := &discardWriter{header: make(http.Header, 16)}
	b.SetBytes(64 << 10)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		if res := c.Serve(context.Background(), w, r); res.Status != http.StatusPartialContent {
			b.Fatalf("not a 206: %+v", res)
		}
	}
}

// BenchmarkHitParallel: hits of one hot 1 KiB object from every core, the
// contention case of a popular live segment.
func BenchmarkHitParallel(b *testing.B) {
	c := primedCache(b, 1<<10, "/seg.ts")
	url := c.anyKey()
	b.SetBytes(1 << 10)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := &Request{Key: url, URL: url, Method: http.MethodGet, Header: http.Header{}}
		w := &discardWriter{header: make(http.Header, 16)}
		for pb.Next() {
			clear(w.header)
			if res := c.Serve(context.Background(), w, r); res.CacheStatus != Hit {
				b.Fatalf("not a hit: %+v", res)
			}
		}
	})
}

// anyKey returns the key of one stored object.
func (c *Cache) anyKey() string {
	c.store.mu.RLock()
	defer c.store.mu.RUnlock()
	for k := range c.store.items {
		return k
	}
	return ""
}
