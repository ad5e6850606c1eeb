package edge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/smd-media/smd/internal/cache"
	"github.com/smd-media/smd/internal/revocation"
	"github.com/smd-media/smd/token/smde"
)

// discardWriter drops the body and reuses its header map, so that the
// benchmark measures the pipeline, not the writer.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkServeHit is smd's own share of a cached 1 KB request with a
// token check: the whole pipeline over a real cache, without net/http's
// connection handling (bench/run.sh measures that part against nginx).
func BenchmarkServeHit(b *testing.B) {
	body := make([]byte, 1024)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "video/mp2t")
		w.Write(body)
	}))
	defer origin.Close()
	cfg := Config{Routes: []Route{{Prefix: "/", Origin: origin.URL}}}
	c, err := cache.New(cache.Config{MaxBytes: 1 << 20, MaxObjectBytes: 1 << 20, PlaylistTTL: 1, SegmentTTL: 1 << 40,
		ConnectTimeout: 1 << 30, ResponseHeaderTimeout: 1 << 30, ReadTimeout: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	e, err := New(cfg, Deps{Keys: testKeys, Revoked: revocation.NewSet("x"), Fetcher: c, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	s := &smde.Signer{Key: testKey}
	tok, err := s.Sign(&smde.Policy{Paths: []string{"/"}, Expiry: farFuture}, &smde.Viewer{})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/"+tok.Token+"/o/1k.bin", nil).WithContext(context.Background())
	w := &discardWriter{header: make(http.Header, 16)}
	e.ServeHTTP(w, r) // miss: fills the cache
	if w.status != 0 && w.status != 200 {
		b.Fatalf("priming: %d", w.status)
	}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		w.status = 0
		e.ServeHTTP(w, r)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}

// BenchmarkServeFirstSeen is BenchmarkServeHit with a token the edge has
// not verified on every request: tokens bound to the viewer's address and
// a session, each its own, twice as many as the verified-token cache
// holds, so every request checks a signature and replaces a cache entry
// (bench/https.sh's first-seen run, in-process).
func BenchmarkServeFirstSeen(b *testing.B) {
	body := make([]byte, 1024)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Write(body)
	}))
	defer origin.Close()
	c, err := cache.New(cache.Config{MaxBytes: 1 << 20, MaxObjectBytes: 1 << 20, PlaylistTTL: 1, SegmentTTL: 1 << 40,
		ConnectTimeout: 1 << 30, ResponseHeaderTimeout: 1 << 30, ReadTimeout: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const cached = 10_000
	e, err := New(Config{Routes: []Route{{Prefix: "/", Origin: origin.URL}}},
		Deps{Keys: testKeys, Revoked: revocation.NewSet("x"), Fetcher: c, Log: slog.New(slog.DiscardHandler),
			Format: smde.NewVerifier(smde.Options{CacheEntries: cached})})
	if err != nil {
		b.Fatal(err)
	}
	s := &smde.Signer{Key: testKey}
	reqs := make([]*http.Request, 2*cached)
	for i := range reqs {
		tok, err := s.Sign(&smde.Policy{Paths: []string{"/"}, IP: true, Session: true, Expiry: farFuture},
			&smde.Viewer{IP: "192.0.2.1", SessionID: fmt.Sprintf("S%016x", i)})
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = httptest.NewRequest(http.MethodGet, "/"+tok.Token+"/o/1k.bin", nil).WithContext(context.Background())
	}
	w := &discardWriter{header: make(http.Header, 16)}
	e.ServeHTTP(w, reqs[0]) // miss: fills the cache
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clear(w.header)
		w.status = 0
		i++
		e.ServeHTTP(w, reqs[i%len(reqs)])
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}
