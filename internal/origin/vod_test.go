package origin

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestVODFiles(t *testing.T) {
	srv, _ := newTestServer(t, Config{}, testEpoch)
	tests := []struct {
		path, file, contentType, cache string
	}{
		{"/vod/m1/master.m3u8", "master.m3u8", typeHLS, cacheVODManifest},
		{"/vod/m1/media_0.m3u8", "media_0.m3u8", typeHLS, cacheVODManifest},
		{"/vod/m1/media_2.m3u8", "media_2.m3u8", typeHLS, cacheVODManifest},
		{"/vod/m1/manifest.mpd", "manifest.mpd", typeDASH, cacheVODManifest},
		{"/vod/m1/init-0.m4s", "init-0.m4s", typeVideo, cacheSegment},
		{"/vod/m1/init-2.m4s", "init-2.m4s", typeAudio, cacheSegment},
		{"/vod/m1/seg-1-6.m4s", "seg-1-6.m4s", typeVideo, cacheSegment},
		{"/vod/m1/seg-2-3.m4s", "seg-2-3.m4s", typeAudio, cacheSegment},
		{"/vod/m2/seg-2-3.m4s", "seg-2-3.m4s", typeAudio, cacheSegment},
		{"/vod/Title_2.x-y/manifest.mpd", "manifest.mpd", typeDASH, cacheVODManifest},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			want := readMedia(t, tc.file)
			r := do(t, "GET", srv.URL+tc.path)
			if r.status != http.StatusOK || !bytes.Equal(r.body, want) {
				t.Fatalf("status %d, %d bytes; want 200 and the %d bytes of %s", r.status, len(r.body), len(want), tc.file)
			}
			h := r.header
			if h.Get("Content-Type") != tc.contentType || h.Get("Cache-Control") != tc.cache ||
				h.Get("Content-Length") != strconv.Itoa(len(want)) || h.Get("Accept-Ranges") != "bytes" {
				t.Errorf("headers %v", h)
			}
			if etag := h.Get("ETag"); len(etag) < 10 || etag[0] != '"' {
				t.Errorf("ETag %q", etag)
			}
			if _, err := http.ParseTime(h.Get("Last-Modified")); err != nil {
				t.Errorf("Last-Modified %q: %v", h.Get("Last-Modified"), err)
			}
			head := do(t, "HEAD", srv.URL+tc.path)
			if head.status != http.StatusOK || len(head.body) != 0 || head.header.Get("Content-Length") != strconv.Itoa(len(want)) {
				t.Errorf("HEAD: status %d, %d bytes, Content-Length %s", head.status, len(head.body), head.header.Get("Content-Length"))
			}
		})
	}
}

func TestRange(t *testing.T) {
	srv, _ := newTestServer(t, Config{}, testEpoch.Add(time.Hour))
	seg := readMedia(t, "seg-0-2.m4s")
	live := do(t, "GET", srv.URL+"/live/ch1/seg-0-1800.m4s").body
	if len(live) != len(readMedia(t, "seg-0-6.m4s")) {
		t.Fatalf("live segment 1800: %d bytes", len(live))
	}
	tests := []struct {
		name, path, rng string
		status          int
		want            []byte
		contentRange    string
	}{
		{"first bytes", "/vod/m1/seg-0-2.m4s", "bytes=0-99", 206, seg[:100], fmt.Sprintf("bytes 0-99/%d", len(seg))},
		{"middle", "/vod/m1/seg-0-2.m4s", "bytes=1000-1999", 206, seg[1000:2000], fmt.Sprintf("bytes 1000-1999/%d", len(seg))},
		{"suffix", "/vod/m1/seg-0-2.m4s", "bytes=-10", 206, seg[len(seg)-10:], fmt.Sprintf("bytes %d-%d/%d", len(seg)-10, len(seg)-1, len(seg))},
		{"open end", "/vod/m1/seg-0-2.m4s", fmt.Sprintf("bytes=%d-", len(seg)-5), 206, seg[len(seg)-5:], fmt.Sprintf("bytes %d-%d/%d", len(seg)-5, len(seg)-1, len(seg))},
		{"unsatisfiable", "/vod/m1/seg-0-2.m4s", fmt.Sprintf("bytes=%d-", len(seg)), 416, nil, fmt.Sprintf("bytes */%d", len(seg))},
		{"live segment", "/live/ch1/seg-0-1800.m4s", "bytes=0-299", 206, live[:300], fmt.Sprintf("bytes 0-299/%d", len(live))},
		{"playlist", "/vod/m1/master.m3u8", "bytes=0-6", 206, []byte("#EXTM3U"), "bytes 0-6/" + strconv.Itoa(len(readMedia(t, "master.m3u8")))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "GET", srv.URL+tc.path, "Range: "+tc.rng)
			if r.status != tc.status || r.header.Get("Content-Range") != tc.contentRange {
				t.Fatalf("status %d, Content-Range %q; want %d, %q", r.status, r.header.Get("Content-Range"), tc.status, tc.contentRange)
			}
			if tc.want != nil && (!bytes.Equal(r.body, tc.want) || r.header.Get("Content-Length") != strconv.Itoa(len(tc.want))) {
				t.Errorf("body of %d bytes, Content-Length %s; want %d bytes", len(r.body), r.header.Get("Content-Length"), len(tc.want))
			}
		})
	}
}

func TestConditional(t *testing.T) {
	srv, clock := newTestServer(t, Config{}, testEpoch.Add(time.Hour))
	for _, path := range []string{"/vod/m1/seg-0-1.m4s", "/vod/m1/master.m3u8", "/live/ch1/media_0.m3u8", "/live/ch1/manifest.mpd", "/live/ch1/seg-2-1799.m4s"} {
		t.Run(path, func(t *testing.T) {
			first := do(t, "GET", srv.URL+path)
			etag, modified := first.header.Get("ETag"), first.header.Get("Last-Modified")
			if first.status != 200 || etag == "" || modified == "" {
				t.Fatalf("status %d, ETag %q, Last-Modified %q", first.status, etag, modified)
			}
			if r := do(t, "GET", srv.URL+path, "If-None-Match: "+etag); r.status != http.StatusNotModified || len(r.body) != 0 {
				t.Errorf("If-None-Match: status %d", r.status)
			}
			if r := do(t, "GET", srv.URL+path, "If-Modified-Since: "+modified); r.status != http.StatusNotModified {
				t.Errorf("If-Modified-Since: status %d", r.status)
			}
			if r := do(t, "GET", srv.URL+path, `If-None-Match: "other"`); r.status != http.StatusOK {
				t.Errorf("other ETag: status %d", r.status)
			}
		})
	}
	// A live playlist changes with the next segment, and so do its validators.
	before := do(t, "GET", srv.URL+"/live/ch1/media_1.m3u8")
	clock.Set(clock.Now().Add(2 * time.Second))
	after := do(t, "GET", srv.URL+"/live/ch1/media_1.m3u8", "If-None-Match: "+before.header.Get("ETag"))
	if after.status != http.StatusOK || after.header.Get("ETag") == before.header.Get("ETag") ||
		after.header.Get("Last-Modified") == before.header.Get("Last-Modified") {
		t.Errorf("after a segment: status %d, ETag %q (was %q)", after.status, after.header.Get("ETag"), before.header.Get("ETag"))
	}
}

func TestNotFound(t *testing.T) {
	// Latest live segment: 1800; served: 1791..1800.
	srv, _ := newTestServer(t, Config{}, testEpoch.Add(time.Hour))
	for _, path := range []string{
		"/nope",
		"/vod",
		"/vod/",
		"/vod/m1",
		"/vod/m1/",
		"/vod/m1/nope.m4s",
		"/vod/m1/seg-0-7.m4s",
		"/vod/m1/seg-0-1800.m4s",
		"/vod/m1/sub/master.m3u8",
		"/vod/.m1/master.m3u8",
		"/vod/m%201/master.m3u8",
		"/vod/" + strings.Repeat("a", 65) + "/master.m3u8",
		"/vod/m1/make.sh",
		"/vod/m1/media.go",
		"/vod/m1/%2e%2e%2fmaster.m3u8",
		"/vod/m1/master.m3u8/",
		"/media/vod/master.m3u8",
		"/live/ch1/",
		"/live/ch1/seg-0-1801.m4s",
		"/live/ch1/seg-0-1790.m4s",
		"/live/ch1/seg-0-0.m4s",
		"/live/ch1/seg-0-01800.m4s",
		"/live/ch1/seg-0-99999999999999999999.m4s",
		"/live/ch1/seg-3-1800.m4s",
		"/live/.ch/media_0.m3u8",
		"/live/ch1/media_3.m3u8",
		"/healthz/x",
		"/index.html",
	} {
		t.Run(path, func(t *testing.T) {
			r := do(t, "GET", srv.URL+path)
			if r.status != http.StatusNotFound || r.header.Get("Cache-Control") != cacheNone || string(r.body) != "not found\n" {
				t.Errorf("status %d, Cache-Control %q, body %q; want 404, no-store, not found", r.status, r.header.Get("Cache-Control"), r.body)
			}
		})
	}
	// Paths with dot segments are cleaned by a redirect, never served.
	r := do(t, "GET", srv.URL+"/vod/m1/../m2/master.m3u8")
	if r.status/100 != 3 || r.header.Get("Location") != "/vod/m2/master.m3u8" {
		t.Errorf("dot segments: status %d, want a redirect", r.status)
	}
}
