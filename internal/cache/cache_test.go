package cache

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestServeMissThenHit(t *testing.T) {
	body := payload(5000)
	o := staticOrigin(t, body, map[string]string{"Content-Type": "video/mp2t"})
	c := newTestCache(t, testConfig(newClock()))
	url := o.URL + "/vod/seg1.ts"

	tests := []struct {
		name   string
		status string
	}{
		{name: "first request fetches", status: Miss},
		{name: "second is served from memory", status: Hit},
		{name: "third too", status: Hit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, res := get(c, url)
			if res.CacheStatus != tc.status || res.Status != 200 || rec.Code != 200 {
				t.Fatalf("got %s %d (recorded %d); want %s 200", res.CacheStatus, res.Status, rec.Code, tc.status)
			}
			if !bytes.Equal(rec.Body.Bytes(), body) || res.BodyBytes != int64(len(body)) {
				t.Fatalf("body of %d bytes (result %d); want the origin's %d", rec.Body.Len(), res.BodyBytes, len(body))
			}
			if fetched := tc.status == Miss; (res.OriginDuration > 0) != fetched || (res.OriginStatus == 200) != fetched {
				t.Errorf("OriginDuration %v, OriginStatus %d for a %s", res.OriginDuration, res.OriginStatus, tc.status)
			}
		})
	}
	if n := o.requests.Load(); n != 1 {
		t.Errorf("origin requests = %d; want 1", n)
	}
	st := c.Stats()
	want := Stats{Hits: 2, Misses: 1, OriginFetches: 1, OriginBytes: 5000, ServedBytes: 15000, Objects: 1}
	st.BytesHeld = 0 // checked below
	if st != want {
		t.Errorf("Stats = %+v; want %+v", st, want)
	}
	if held := c.Stats().BytesHeld; held < 5000 || held > 5000+1024 {
		t.Errorf("BytesHeld = %d; want the body and a little", held)
	}
}

func TestServeResponseHeaders(t *testing.T) {
	body := payload(300)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "video/mp4")
		h.Set("Content-Length", "300")
		h.Set("ETag", `"v1"`)
		h.Set("Last-Modified", "Sat, 01 Mar 2025 10:00:00 GMT")
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("Age", "10")
		h.Set("Set-Cookie", "session=secret")
		h.Set("Connection", "X-Private")
		h.Set("X-Private", "origin internals")
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Authenticate", "Basic")
		h.Set("Trailer", "X-T")
		h.Set("Upgrade", "h2c")
		h.Set("Server", "origin/1.0")
		h.Set("Location", "http://origin.internal/")
		h.Set("Access-Control-Allow-Origin", "*")
		w.Write(body)
	})
	clk := newClock()
	c := newTestCache(t, testConfig(clk))
	url := o.URL + "/seg.mp4"

	for _, status := range []string{Miss, Hit} {
		t.Run(status, func(t *testing.T) {
			rec, res := get(c, url)
			if res.CacheStatus != status {
				t.Fatalf("CacheStatus = %s; want %s", res.CacheStatus, status)
			}
			want := map[string]string{
				"Content-Type":   "video/mp4",
				"Content-Length": "300",
				"Etag":           `"v1"`,
				"Last-Modified":  "Sat, 01 Mar 2025 10:00:00 GMT",
				"Cache-Control":  "public, max-age=3600",
				"Accept-Ranges":  "bytes",
				"Age":            "10",
			}
			if status == Hit {
				want["Age"] = "15"
			}
			got := rec.Header()
			for k, v := range want {
				if got.Get(k) != v {
					t.Errorf("%s = %q; want %q", k, got.Get(k), v)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("unexpected header %s: %q", k, got[k])
				}
			}
		})
		clk.Advance(5 * time.Second)
	}
}

// TestServeKeepsCallerHeaders: headers the caller set (CORS) stay.
func TestServeKeepsCallerHeaders(t *testing.T) {
	o := staticOrigin(t, []byte("x"), nil)
	c := newTestCache(t, testConfig(newClock()))
	for _, status := range []string{Miss, Hit} {
		rec := httptest.NewRecorder()
		rec.Header().Set("Access-Control-Allow-Origin", "https://portal.example")
		res := c.Serve(t.Context(), rec, &Request{Key: "k", URL: o.URL + "/a.ts", Method: "GET"})
		if res.CacheStatus != status || rec.Header().Get("Access-Control-Allow-Origin") != "https://portal.example" {
			t.Errorf("%s: caller's header lost: %v", res.CacheStatus, rec.Header())
		}
	}
}

func TestServeOriginRequest(t *testing.T) {
	o := staticOrigin(t, []byte("body"), nil)
	c := newTestCache(t, testConfig(newClock()))
	tests := []struct {
		name, method, path string
	}{
		{name: "GET", method: http.MethodGet, path: "/vod/a/seg1.ts"},
		{name: "HEAD miss fetches with GET", method: http.MethodHead, path: "/vod/a/seg2.ts"},
		{name: "query kept", method: http.MethodGet, path: "/vod/a/seg3.ts?v=2&x=%2F"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			viewer := http.Header{
				"Cookie":            {"a=b"},
				"Authorization":     {"Bearer t"},
				"Range":             {"bytes=0-1"},
				"If-None-Match":     {`"x"`},
				"X-Forwarded-For":   {"203.0.113.9"},
				"User-Agent":        {"player/1"},
				"Referer":           {"https://portal.example/"},
				"Accept-Encoding":   {"gzip"},
				"CloudFront-Viewer": {"x"},
			}
			do(c, tc.method, o.URL+tc.path, viewer)
			r := o.lastRequest()
			if r.Method != http.MethodGet || r.URL.RequestURI() != tc.path {
				t.Errorf("origin got %s %s; want GET %s", r.Method, r.URL.RequestURI(), tc.path)
			}
			want := map[string]string{"User-Agent": "smd-edge", "Accept-Encoding": "identity"}
			for k := range r.Header {
				if _, ok := want[k]; !ok {
					t.Errorf("origin got header %s: %q", k, r.Header[k])
				}
			}
			for k, v := range want {
				if r.Header.Get(k) != v {
					t.Errorf("origin %s = %q; want %q", k, r.Header.Get(k), v)
				}
			}
		})
	}
}

func TestServeFreshness(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		header map[string]string
		after  time.Duration
		want   string // status of a second request after that long
	}{
		{name: "max-age fresh", path: "/s.ts", header: map[string]string{"Cache-Control": "max-age=60"}, after: 59 * time.Second, want: Hit},
		{name: "max-age expired", path: "/s.ts", header: map[string]string{"Cache-Control": "max-age=60"}, after: 61 * time.Second, want: Miss},
		{name: "s-maxage wins", path: "/s.ts", header: map[string]string{"Cache-Control": "max-age=600, s-maxage=10"}, after: 11 * time.Second, want: Miss},
		{name: "Age counts", path: "/s.ts", header: map[string]string{"Cache-Control": "max-age=60", "Age": "55"}, after: 6 * time.Second, want: Miss},
		{name: "Expires fresh", path: "/s.ts", header: map[string]string{"Date": "Sat, 01 Mar 2025 11:00:00 GMT", "Expires": "Sat, 01 Mar 2025 11:00:30 GMT"}, after: 29 * time.Second, want: Hit},
		{name: "Expires expired", path: "/s.ts", header: map[string]string{"Date": "Sat, 01 Mar 2025 11:00:00 GMT", "Expires": "Sat, 01 Mar 2025 11:00:30 GMT"}, after: 31 * time.Second, want: Miss},
		{name: "Expires invalid", path: "/s.ts", header: map[string]string{"Expires": "0"}, want: Bypass},
		{name: "no-store", path: "/s.ts", header: map[string]string{"Cache-Control": "no-store"}, want: Bypass},
		{name: "no-cache", path: "/s.ts", header: map[string]string{"Cache-Control": "no-cache"}, want: Bypass},
		{name: "private", path: "/s.ts", header: map[string]string{"Cache-Control": "private, max-age=60"}, want: Bypass},
		{name: "playlist default fresh", path: "/live/index.m3u8", after: 1900 * time.Millisecond, want: Hit},
		{name: "playlist default expired", path: "/live/index.m3u8", after: 2 * time.Second, want: Miss},
		{name: "dash manifest default", path: "/live/manifest.mpd", after: 3 * time.Second, want: Miss},
		{name: "playlist by content type", path: "/live/index", header: map[string]string{"Content-Type": "application/vnd.apple.mpegurl"}, after: 3 * time.Second, want: Miss},
		{name: "segment default fresh", path: "/live/seg9.m4s", after: 23 * time.Hour, want: Hit},
		{name: "segment default expired", path: "/live/seg9.m4s", after: 25 * time.Hour, want: Miss},
		{name: "playlist max-age wins over default", path: "/vod/index.m3u8", header: map[string]string{"Cache-Control": "max-age=3600"}, after: time.Minute, want: Hit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := staticOrigin(t, []byte("content"), tc.header)
			clk := newClock()
			c := newTestCache(t, testConfig(clk))
			url := o.URL + tc.path
			first := Miss
			if tc.want == Bypass {
				first = Bypass
			}
			if _, res := get(c, url); res.CacheStatus != first {
				t.Fatalf("first request: %s; want %s", res.CacheStatus, first)
			}
			clk.Advance(tc.after)
			rec, res := get(c, url)
			if res.CacheStatus != tc.want || rec.Body.String() != "content" {
				t.Errorf("second request: %s %q; want %s", res.CacheStatus, rec.Body, tc.want)
			}
			wantFetches := int64(2)
			if tc.want == Hit {
				wantFetches = 1
			}
			if n := o.requests.Load(); n != wantFetches {
				t.Errorf("origin requests = %d; want %d", n, wantFetches)
			}
		})
	}
}

func TestServeRange(t *testing.T) {
	body := payload(1000)
	tests := []struct {
		name, rangeHeader, ifRange string
		status                     int
		start, end                 int // body[start:end] expected
		contentRange               string
	}{
		{name: "first bytes", rangeHeader: "bytes=0-99", status: 206, start: 0, end: 100, contentRange: "bytes 0-99/1000"},
		{name: "middle", rangeHeader: "bytes=500-509", status: 206, start: 500, end: 510, contentRange: "bytes 500-509/1000"},
		{name: "open end", rangeHeader: "bytes=990-", status: 206, start: 990, end: 1000, contentRange: "bytes 990-999/1000"},
		{name: "suffix", rangeHeader: "bytes=-10", status: 206, start: 990, end: 1000, contentRange: "bytes 990-999/1000"},
		{name: "end clamped", rangeHeader: "bytes=900-5000", status: 206, start: 900, end: 1000, contentRange: "bytes 900-999/1000"},
		{name: "start past end", rangeHeader: "bytes=1000-", status: 416, contentRange: "bytes */1000"},
		{name: "empty suffix", rangeHeader: "bytes=-0", status: 416, contentRange: "bytes */1000"},
		{name: "several ranges: whole", rangeHeader: "bytes=0-1,5-6", status: 200, start: 0, end: 1000},
		{name: "malformed: whole", rangeHeader: "bytes=x-y", status: 200, start: 0, end: 1000},
		{name: "If-Range matches", rangeHeader: "bytes=0-9", ifRange: `"e1"`, status: 206, start: 0, end: 10, contentRange: "bytes 0-9/1000"},
		{name: "If-Range date matches", rangeHeader: "bytes=0-9", ifRange: "Sat, 01 Mar 2025 10:00:00 GMT", status: 206, start: 0, end: 10, contentRange: "bytes 0-9/1000"},
		{name: "If-Range differs: whole", rangeHeader: "bytes=0-9", ifRange: `"e0"`, status: 200, start: 0, end: 1000},
	}
	origins := []struct {
		name   string
		header map[string]string
		chunk  bool
	}{
		{name: "length known"},
		{name: "length unknown", chunk: true},
	}
	for _, org := range origins {
		o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"e1"`)
			w.Header().Set("Last-Modified", "Sat, 01 Mar 2025 10:00:00 GMT")
			if org.chunk {
				w.Write(body[:100])
				w.(http.Flusher).Flush() // no Content-Length: chunked
				w.Write(body[100:])
				return
			}
			w.Write(body)
		})
		for _, served := range []string{"miss", "hit"} {
			for _, tc := range tests {
				t.Run(org.name+"/"+served+"/"+tc.name, func(t *testing.T) {
					c := newTestCache(t, testConfig(newClock()))
					url := o.URL + "/seg.ts"
					if served == "hit" {
						get(c, url)
					}
					rec, res := get(c, url, "Range", tc.rangeHeader, "If-Range", tc.ifRange)
					if res.Status != tc.status || rec.Code != tc.status {
						t.Fatalf("status %d (recorded %d); want %d", res.Status, rec.Code, tc.status)
					}
					if got := rec.Header().Get("Content-Range"); got != tc.contentRange {
						t.Errorf("Content-Range = %q; want %q", got, tc.contentRange)
					}
					want := body[tc.start:tc.end]
					if !bytes.Equal(rec.Body.Bytes(), want) {
						t.Errorf("body of %d bytes; want %d bytes [%d:%d]", rec.Body.Len(), len(want), tc.start, tc.end)
					}
					wantLength := strconv.Itoa(len(want))
					if org.chunk && served == "miss" && tc.status == 200 {
						wantLength = "" // streamed as it arrives, length unknown
					}
					if cl := rec.Header().Get("Content-Length"); cl != wantLength {
						t.Errorf("Content-Length = %q; want %q", cl, wantLength)
					}
				})
			}
		}
	}
}

func TestServeHead(t *testing.T) {
	body := payload(2000)
	o := staticOrigin(t, body, map[string]string{"Content-Type": "video/mp2t"})
	c := newTestCache(t, testConfig(newClock()))
	url := o.URL + "/seg.ts"

	rec, res := do(c, http.MethodHead, url, nil)
	if res.Status != 200 || rec.Body.Len() != 0 || res.BodyBytes != 0 || rec.Header().Get("Content-Length") != "2000" {
		t.Fatalf("HEAD miss: %d, %d body bytes, Content-Length %q", res.Status, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
	// The HEAD's fetch fills the cache even though its viewer is gone: the
	// GET is served by it, stored or still in progress.
	rec, res = get(c, url)
	if res.CacheStatus != Hit && res.CacheStatus != Coalesced || !bytes.Equal(rec.Body.Bytes(), body) {
		t.Fatalf("GET after HEAD: %s, %d bytes", res.CacheStatus, rec.Body.Len())
	}
	rec, res = do(c, http.MethodHead, url, http.Header{"Range": {"bytes=0-9"}})
	if res.CacheStatus != Hit || res.Status != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != "2000" {
		t.Errorf("HEAD hit with Range: %s %d, %d bytes, Content-Length %q", res.CacheStatus, res.Status, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
	if n := o.requests.Load(); n != 1 {
		t.Errorf("origin requests = %d; want 1", n)
	}
}

func TestServeConditional(t *testing.T) {
	o := staticOrigin(t, []byte("body"), map[string]string{
		"ETag":          `"v2"`,
		"Last-Modified": "Sat, 01 Mar 2025 10:00:00 GMT",
	})
	tests := []struct {
		name   string
		header []string
		status int
	}{
		{name: "If-None-Match matches", header: []string{"If-None-Match", `"v2"`}, status: 304},
		{name: "If-None-Match weak matches", header: []string{"If-None-Match", `"v1", W/"v2"`}, status: 304},
		{name: "If-None-Match star", header: []string{"If-None-Match", `*`}, status: 304},
		{name: "If-None-Match differs", header: []string{"If-None-Match", `"v1"`}, status: 200},
		{name: "If-Modified-Since later", header: []string{"If-Modified-Since", "Sat, 01 Mar 2025 11:00:00 GMT"}, status: 304},
		{name: "If-Modified-Since same", header: []string{"If-Modified-Since", "Sat, 01 Mar 2025 10:00:00 GMT"}, status: 304},
		{name: "If-Modified-Since earlier", header: []string{"If-Modified-Since", "Sat, 01 Mar 2025 09:00:00 GMT"}, status: 200},
		{name: "If-None-Match wins over If-Modified-Since", header: []string{"If-None-Match", `"v1"`, "If-Modified-Since", "Sat, 01 Mar 2025 11:00:00 GMT"}, status: 200},
	}
	for _, served := range []string{"miss", "hit"} {
		for _, tc := range tests {
			t.Run(served+"/"+tc.name, func(t *testing.T) {
				c := newTestCache(t, testConfig(newClock()))
				url := o.URL + "/a.ts"
				if served == "hit" {
					get(c, url)
				}
				rec, res := get(c, url, tc.header...)
				if res.Status != tc.status || rec.Code != tc.status {
					t.Fatalf("status %d (recorded %d); want %d", res.Status, rec.Code, tc.status)
				}
				if tc.status == 304 && (rec.Body.Len() != 0 || rec.Header().Get("Etag") != `"v2"`) {
					t.Errorf("304 with %d body bytes, ETag %q", rec.Body.Len(), rec.Header().Get("Etag"))
				}
			})
		}
	}
}

func TestServeOriginStatuses(t *testing.T) {
	tests := []struct {
		status int
		body   string
	}{
		{status: 404, body: "no such segment"},
		{status: 403, body: "forbidden at origin"},
		{status: 500, body: "origin broke"},
		{status: 503, body: "origin busy"},
		{status: 302},
		{status: 204},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "http://origin.internal/elsewhere")
				w.Header().Set("Cache-Control", "max-age=3600")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			c := newTestCache(t, testConfig(newClock()))
			for i := range 2 {
				rec, res := get(c, o.URL+"/seg.ts")
				if res.Status != tc.status || rec.Code != tc.status || res.OriginStatus != tc.status {
					t.Fatalf("request %d: status %d (recorded %d, origin %d); want %d", i, res.Status, rec.Code, res.OriginStatus, tc.status)
				}
				if rec.Body.String() != tc.body || res.CacheStatus != Bypass {
					t.Errorf("request %d: %s %q; want BYPASS %q", i, res.CacheStatus, rec.Body, tc.body)
				}
				if rec.Header().Get("Location") != "" {
					t.Errorf("origin's Location passed to the viewer")
				}
			}
			if n := o.requests.Load(); n != 2 {
				t.Errorf("origin requests = %d; want 2 (never cached)", n)
			}
			if st := c.Stats(); st.Passthroughs != 2 || st.Objects != 0 {
				t.Errorf("Stats = %+v; want 2 passthroughs, nothing stored", st)
			}
		})
	}
}

func TestServeOriginFailures(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	release := make(chan struct{})
	defer close(release)
	slow := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	tests := []struct {
		name   string
		url    string
		status int
		cause  error
	}{
		{name: "unreachable", url: downURL + "/seg.ts", status: 502},
		{name: "response header timeout", url: slow.URL + "/seg.ts", status: 504, cause: errHeaderTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(newClock())
			cfg.ResponseHeaderTimeout = 100 * time.Millisecond
			c := newTestCache(t, cfg)
			rec, res := get(c, tc.url)
			if res.Status != tc.status || rec.Code != tc.status || res.CacheStatus != Error || res.Err == nil {
				t.Fatalf("got %d (recorded %d) %s err=%v; want %d ERROR", res.Status, rec.Code, res.CacheStatus, res.Err, tc.status)
			}
			if tc.cause != nil && !errors.Is(res.Err, tc.cause) {
				t.Errorf("Err = %v; want %v", res.Err, tc.cause)
			}
			if st := c.Stats(); st.OriginErrors != 1 || st.Objects != 0 {
				t.Errorf("Stats = %+v; want 1 origin error, nothing stored", st)
			}
		})
	}
}

// TestServeReadTimeout: an origin that stalls mid-body is cut after
// ReadTimeout; the viewer's response is marked truncated, nothing stored.
func TestServeReadTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "200")
		w.Write(make([]byte, 100))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	cfg := testConfig(newClock())
	cfg.ReadTimeout = 100 * time.Millisecond
	c := newTestCache(t, cfg)
	rec, res := get(c, o.URL+"/seg.ts")
	if res.Status != 200 || rec.Body.Len() != 100 || !errors.Is(res.Err, ErrTruncated) || !errors.Is(res.Err, errReadTimeout) {
		t.Fatalf("got %d, %d bytes, err=%v; want 200, 100 bytes, truncated by the read timeout", res.Status, rec.Body.Len(), res.Err)
	}
	if st := c.Stats(); st.Objects != 0 || st.BytesReserved != 0 {
		t.Errorf("Stats = %+v; want nothing stored or reserved", st)
	}
}

func TestServeStaleIfError(t *testing.T) {
	const ttl = 10 * time.Second
	tests := []struct {
		name       string
		failure    string // how the origin fails on refresh
		cc         string
		after      time.Duration // since the object was stored
		wantStatus int
		wantCache  string
	}{
		{name: "500 within window", failure: "500", after: ttl + 30*time.Second, wantStatus: 200, wantCache: Stale},
		{name: "503 within window", failure: "503", after: ttl + 59*time.Second, wantStatus: 200, wantCache: Stale},
		{name: "unreachable within window", failure: "down", after: ttl + time.Second, wantStatus: 200, wantCache: Stale},
		{name: "timeout within window", failure: "hang", after: ttl + time.Second, wantStatus: 200, wantCache: Stale},
		{name: "500 past window", failure: "500", after: ttl + 61*time.Second, wantStatus: 500, wantCache: Bypass},
		{name: "unreachable past window", failure: "down", after: ttl + 61*time.Second, wantStatus: 502, wantCache: Error},
		{name: "must-revalidate", failure: "500", cc: ", must-revalidate", after: ttl + time.Second, wantStatus: 500, wantCache: Bypass},
		{name: "404 is an answer, not an error", failure: "404", after: ttl + time.Second, wantStatus: 404, wantCache: Bypass},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := payload(4096)
			failing := make(chan struct{})
			hang := make(chan struct{})
			defer close(hang)
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-failing:
				default:
					w.Header().Set("Cache-Control", "max-age=10"+tc.cc)
					w.Write(body)
					return
				}
				switch tc.failure {
				case "hang":
					select {
					case <-hang:
					case <-r.Context().Done():
					}
				case "404":
					http.NotFound(w, r)
				default:
					code, _ := strconv.Atoi(tc.failure)
					http.Error(w, "down for maintenance", code)
				}
			})
			clk := newClock()
			cfg := testConfig(clk)
			cfg.ResponseHeaderTimeout = 100 * time.Millisecond
			c := newTestCache(t, cfg)
			url := o.URL + "/seg.ts"
			if _, res := get(c, url); res.CacheStatus != Miss {
				t.Fatalf("priming: %s", res.CacheStatus)
			}
			close(failing)
			if tc.failure == "down" {
				o.Close()
			}
			clk.Advance(tc.after)
			rec, res := get(c, url)
			if res.Status != tc.wantStatus || res.CacheStatus != tc.wantCache {
				t.Fatalf("got %d %s (err %v); want %d %s", res.Status, res.CacheStatus, res.Err, tc.wantStatus, tc.wantCache)
			}
			if tc.wantCache == Stale {
				if !bytes.Equal(rec.Body.Bytes(), body) || res.Err == nil {
					t.Errorf("stale body of %d bytes, err %v; want the stored body and the origin's error", rec.Body.Len(), res.Err)
				}
				if st := c.Stats(); st.StaleServed != 1 {
					t.Errorf("StaleServed = %d; want 1", st.StaleServed)
				}
			}
			if tc.failure == "404" {
				// The origin's definitive answer dropped the expired copy.
				if st := c.Stats(); st.Objects != 0 {
					t.Errorf("Objects = %d after a 404 refresh; want 0", st.Objects)
				}
			}
		})
	}
}

func TestServeMethodNotAllowed(t *testing.T) {
	c := newTestCache(t, testConfig(newClock()))
	rec, res := do(c, http.MethodPost, "http://127.0.0.1:1/x", nil)
	if res.Status != 405 || rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d (recorded %d), Allow %q", res.Status, rec.Code, rec.Header().Get("Allow"))
	}
}

func TestServeMemoryBound(t *testing.T) {
	body := payload(10 << 10)
	o := staticOrigin(t, body, nil)
	cfg := testConfig(newClock())
	cfg.MaxBytes, cfg.MaxObjectBytes = 64<<10, 16<<10
	c := newTestCache(t, cfg)
	for i := range 50 {
		rec, res := get(c, fmt.Sprintf("%s/seg%d.ts", o.URL, i))
		if res.CacheStatus != Miss || !bytes.Equal(rec.Body.Bytes(), body) {
			t.Fatalf("seg%d: %s, %d bytes", i, res.CacheStatus, rec.Body.Len())
		}
		if st := c.Stats(); st.BytesHeld+st.BytesReserved > cfg.MaxBytes {
			t.Fatalf("after seg%d: held %d + reserved %d > MaxBytes %d", i, st.BytesHeld, st.BytesReserved, cfg.MaxBytes)
		}
		// seg0 is used all along: the clock keeps it.
		if _, res := get(c, o.URL+"/seg0.ts"); i > 0 && res.CacheStatus != Hit {
			t.Fatalf("seg0 after seg%d: %s; want HIT", i, res.CacheStatus)
		}
	}
	st := c.Stats()
	if st.Objects != 6 || st.Evictions != 44 {
		t.Errorf("Objects = %d, Evictions = %d; want 6 and 44", st.Objects, st.Evictions)
	}
	if _, res := get(c, o.URL+"/seg1.ts"); res.CacheStatus != Miss {
		t.Errorf("seg1 was evicted, got %s", res.CacheStatus)
	}
}

// TestServeMemoryBoundInFlight: fetches in progress reserve their bodies,
// so stored plus in-flight bytes stay within MaxBytes; the fetches that
// cannot reserve pass through uncached.
func TestServeMemoryBoundInFlight(t *testing.T) {
	const n, size = 10, 10 << 10
	body := payload(size)
	release := make(chan struct{})
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Write(body[:size/2])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Write(body[size/2:])
	})
	cfg := testConfig(newClock())
	cfg.MaxBytes, cfg.MaxObjectBytes = 64<<10, 16<<10
	c := newTestCache(t, cfg)
	results := make(chan Result, n)
	writers := make([]*gateWriter, n)
	for i := range n {
		writers[i] = newGateWriter()
		go func() {
			results <- c.Serve(t.Context(), writers[i], &Request{Key: strconv.Itoa(i), URL: fmt.Sprintf("%s/seg%d.ts", o.URL, i), Method: "GET"})
		}()
	}
	for i := range n {
		wait(t, writers[i].first, "first bytes of every fetch")
	}
	// Every fetch is now past its headers and blocked mid-body.
	st := c.Stats()
	if st.BytesHeld+st.BytesReserved > cfg.MaxBytes || st.BytesReserved == 0 {
		t.Errorf("in flight: held %d + reserved %d; want within %d, some reserved", st.BytesHeld, st.BytesReserved, cfg.MaxBytes)
	}
	close(release)
	counts := map[string]int{}
	for range n {
		res := <-results
		counts[res.CacheStatus]++
		if res.Status != 200 || res.BodyBytes != size {
			t.Errorf("result %+v", res)
		}
	}
	if counts[Miss] != 6 || counts[Bypass] != 4 {
		t.Errorf("statuses %v; want 6 MISS (reserved) and 4 BYPASS", counts)
	}
	if st := c.Stats(); st.Objects != 6 || st.BytesReserved != 0 || st.BytesHeld > cfg.MaxBytes {
		t.Errorf("after: %+v", st)
	}
}

func TestServeLargeObjectsPassThrough(t *testing.T) {
	tests := []struct {
		name      string
		size      int
		chunked   bool
		rangeHdr  string
		wantCache string
		wantBody  [2]int
	}{
		{name: "known length over the limit", size: 100<<10 + 1, wantCache: Bypass},
		{name: "unknown length over the limit", size: 300 << 10, chunked: true, wantCache: Bypass},
		{name: "unknown length at the limit is stored", size: 100 << 10, chunked: true, wantCache: Miss},
		{name: "known length at the limit is stored", size: 100 << 10, wantCache: Miss},
		{name: "range of a large object", size: 300 << 10, rangeHdr: "bytes=200000-200099", wantCache: Bypass, wantBody: [2]int{200000, 200100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := payload(tc.size)
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				if !tc.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				for b := body; len(b) > 0; {
					n := min(len(b), 7000)
					w.Write(b[:n])
					w.(http.Flusher).Flush()
					b = b[n:]
				}
			})
			cfg := testConfig(newClock())
			cfg.MaxBytes, cfg.MaxObjectBytes = 1<<20, 100<<10
			c := newTestCache(t, cfg)
			c.readChunk, c.passWindow = 4<<10, 16<<10
			want := body
			if tc.rangeHdr != "" {
				want = body[tc.wantBody[0]:tc.wantBody[1]]
			}
			for i := range 2 {
				rec, res := get(c, o.URL+"/big.mp4", "Range", tc.rangeHdr)
				wantCache := tc.wantCache
				if i == 1 && wantCache == Miss {
					wantCache = Hit
				}
				if res.CacheStatus != wantCache || !bytes.Equal(rec.Body.Bytes(), want) || res.Err != nil {
					t.Fatalf("request %d: %s, %d bytes, err %v; want %s, %d bytes", i, res.CacheStatus, rec.Body.Len(), res.Err, wantCache, len(want))
				}
			}
			wantFetches := int64(2)
			if tc.wantCache == Miss {
				wantFetches = 1
			}
			st := c.Stats()
			if st.OriginFetches != wantFetches || st.BytesReserved != 0 {
				t.Errorf("Stats = %+v; want %d origin fetches, nothing reserved", st, wantFetches)
			}
		})
	}
}
