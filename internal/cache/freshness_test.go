package cache

import (
	"net/http"
	"testing"
	"time"
)

func TestFreshnessOf(t *testing.T) {
	received := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	date := received.Format(http.TimeFormat)
	in := func(d time.Duration) string { return received.Add(d).Format(http.TimeFormat) }
	const def = 7 * time.Second
	tests := []struct {
		name    string
		header  map[string][]string
		store   bool
		ttl     time.Duration
		noStale bool
	}{
		{name: "nothing: default", store: true, ttl: def},
		{name: "max-age", header: map[string][]string{"Cache-Control": {"public, max-age=60"}}, store: true, ttl: time.Minute},
		{name: "s-maxage wins over max-age", header: map[string][]string{"Cache-Control": {"max-age=600, s-maxage=30"}}, store: true, ttl: 30 * time.Second},
		{name: "max-age wins over Expires", header: map[string][]string{"Cache-Control": {"max-age=5"}, "Expires": {in(time.Hour)}, "Date": {date}}, store: true, ttl: 5 * time.Second},
		{name: "directives case-insensitive", header: map[string][]string{"Cache-Control": {"Max-Age=9"}}, store: true, ttl: 9 * time.Second},
		{name: "quoted value", header: map[string][]string{"Cache-Control": {`max-age="12"`}}, store: true, ttl: 12 * time.Second},
		{name: "several header lines", header: map[string][]string{"Cache-Control": {"public", "max-age=3"}}, store: true, ttl: 3 * time.Second},
		{name: "max-age zero", header: map[string][]string{"Cache-Control": {"max-age=0"}}},
		{name: "max-age invalid", header: map[string][]string{"Cache-Control": {"max-age=ten"}}},
		{name: "max-age negative", header: map[string][]string{"Cache-Control": {"max-age=-5"}}},
		{name: "max-age huge is capped", header: map[string][]string{"Cache-Control": {"max-age=99999999999999999999999"}}, store: true, ttl: maxDelta * time.Second},
		{name: "no-store", header: map[string][]string{"Cache-Control": {"max-age=60, no-store"}}},
		{name: "no-cache", header: map[string][]string{"Cache-Control": {"no-cache"}}},
		{name: "no-cache with field", header: map[string][]string{"Cache-Control": {`no-cache="Set-Cookie", max-age=60`}}},
		{name: "private", header: map[string][]string{"Cache-Control": {"private, max-age=60"}}},
		{name: "must-revalidate", header: map[string][]string{"Cache-Control": {"max-age=60, must-revalidate"}}, store: true, ttl: time.Minute, noStale: true},
		{name: "proxy-revalidate", header: map[string][]string{"Cache-Control": {"max-age=60, proxy-revalidate"}}, store: true, ttl: time.Minute, noStale: true},
		{name: "Expires against Date", header: map[string][]string{"Date": {in(-time.Hour)}, "Expires": {in(-time.Hour + 30*time.Second)}}, store: true, ttl: 30 * time.Second},
		{name: "Expires without Date: against receipt", header: map[string][]string{"Expires": {in(45 * time.Second)}}, store: true, ttl: 45 * time.Second},
		{name: "Expires in the past", header: map[string][]string{"Date": {date}, "Expires": {in(-time.Second)}}},
		{name: "Expires invalid means expired", header: map[string][]string{"Expires": {"0"}}},
		{name: "Age is subtracted", header: map[string][]string{"Cache-Control": {"max-age=60"}, "Age": {"50"}}, store: true, ttl: 10 * time.Second},
		{name: "Age over lifetime", header: map[string][]string{"Cache-Control": {"max-age=60"}, "Age": {"61"}}},
		{name: "Age invalid is ignored", header: map[string][]string{"Cache-Control": {"max-age=60"}, "Age": {"x"}}, store: true, ttl: time.Minute},
		{name: "unknown directives ignored", header: map[string][]string{"Cache-Control": {"immutable, stale-while-revalidate=5, max-age=8"}}, store: true, ttl: 8 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := freshnessOf(http.Header(tc.header), received, def)
			want := freshness{store: tc.store, ttl: tc.ttl, noStale: tc.noStale}
			if !tc.store {
				got.ttl, want.ttl = 0, 0 // not stored: the lifetime is moot
			}
			if got != want {
				t.Errorf("freshnessOf = %+v; want %+v", got, want)
			}
		})
	}
}

func TestIsPlaylist(t *testing.T) {
	tests := []struct {
		url, contentType string
		want             bool
	}{
		{url: "http://o/live/index.m3u8", want: true},
		{url: "http://o/live/INDEX.M3U8?x=1", want: true},
		{url: "http://o/dash/manifest.mpd", want: true},
		{url: "http://o/live/seg1.ts"},
		{url: "http://o/live/seg1.m4s"},
		{url: "http://o/a.m3u8.ts"},
		{url: "http://o/ts?f=a.m3u8"},
		{url: "http://o/playlist", contentType: "application/vnd.apple.mpegurl", want: true},
		{url: "http://o/manifest", contentType: "application/dash+xml; charset=utf-8", want: true},
		{url: "http://o/seg", contentType: "video/mp2t"},
	}
	for _, tc := range tests {
		t.Run(tc.url+" "+tc.contentType, func(t *testing.T) {
			if got := isPlaylist(tc.url, tc.contentType); got != tc.want {
				t.Errorf("isPlaylist = %v; want %v", got, tc.want)
			}
		})
	}
}

func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{"max-age=60", "no-store", `no-cache="a", s-maxage=5`, "max-age=99999999999999999999", "=,,=", `max-age="`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cc := parseCacheControl([]string{s})
		for _, v := range []int64{cc.maxAge, cc.sMaxAge} {
			if v != noDelta && v != invalidDelta && (v < 0 || v > maxDelta) {
				t.Fatalf("delta %d out of range for %q", v, s)
			}
		}
	})
}
