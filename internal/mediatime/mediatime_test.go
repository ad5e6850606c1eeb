package mediatime

import (
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/smd-media/smd/internal/origin"
)

// get fetches a path from the sample origin.
func get(t *testing.T, o *origin.Origin, p string) []byte {
	t.Helper()
	w := httptest.NewRecorder()
	o.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
	if w.Code != 200 {
		t.Fatalf("%s: %d", p, w.Code)
	}
	b, _ := io.ReadAll(w.Body)
	return b
}

// TestSampleOrigin: the durations of the sample origin's manifests, HLS
// and DASH, VOD and live, are learned and found for its segments.
func TestSampleOrigin(t *testing.T) {
	o, err := origin.New(origin.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"vod/m1", "live/ch1"} {
		for _, m := range []string{"media_0.m3u8", "media_1.m3u8", "media_2.m3u8", "manifest.mpd", "master.m3u8"} {
			t.Run(kind+"/"+m, func(t *testing.T) {
				d := NewDurations()
				p := "/" + kind + "/" + m
				n, err := d.Learn("http://origin.test"+p, get(t, o, p))
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]int{"media_0.m3u8": 1, "media_1.m3u8": 1, "media_2.m3u8": 1, "manifest.mpd": 3, "master.m3u8": 0}[m]
				if n != want {
					t.Errorf("%d renditions, want %d", n, want)
				}
				for _, id := range []string{"0", "1", "2"} {
					seg := "/" + kind + "/seg-" + id + "-4.m4s"
					ms, ok := d.Lookup(seg)
					listed := m == "manifest.mpd" || m == "media_"+id+".m3u8"
					// Audio segments hold whole AAC frames: 2 s within 10 ms.
					if ok != listed || (ok && (ms < 1990 || ms > 2010)) {
						t.Errorf("%s: %d ms (%v), want 2000 ± 10 (%v)", seg, ms, ok, listed)
					}
				}
				if _, ok := d.Lookup("/" + kind + "/init-0.m4s"); ok {
					t.Error("an init segment has a duration")
				}
			})
		}
	}
}

func TestParseHLS(t *testing.T) {
	base, _ := url.Parse("https://o.test/v/t/media.m3u8")
	tests := []struct {
		name, body string
		want       []Rendition
		err        string
	}{
		{"media", "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.006,\ns/seg1.ts\n#EXTINF:5.994,\ns/seg2.ts\n#EXTINF:3,\ns/seg3.ts\n#EXT-X-ENDLIST\n",
			[]Rendition{{"/v/t/s/seg1.ts", 5000}}, ""},
		{"two templates, CRLF, BOM", "\xef\xbb\xbf#EXTM3U\r\n#EXTINF:2,\r\na1.m4s\r\n#EXTINF:4\r\nb1.m4s\r\n", []Rendition{{"/v/t/a1.m4s", 2000}, {"/v/t/b1.m4s", 4000}}, ""},
		{"absolute path, other host left out", "#EXTM3U\n#EXTINF:2,\n/x/seg9.ts\n#EXTINF:2,\nhttps://cdn.test/x/seg10.ts\n", []Rendition{{"/x/seg9.ts", 2000}}, ""},
		{"multivariant", "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nmedia_0.m3u8\n", []Rendition{}, ""},
		{"not a playlist", "<html>", nil, "#EXTM3U"},
		{"bad EXTINF", "#EXTM3U\n#EXTINF:abc,\nseg1.ts\n", nil, "EXTINF"},
		{"negative EXTINF", "#EXTM3U\n#EXTINF:-1,\nseg1.ts\n", nil, "EXTINF"},
		{"NaN EXTINF", "#EXTM3U\n#EXTINF:NaN,\nseg1.ts\n", nil, "EXTINF"},
		{"huge EXTINF", "#EXTM3U\n#EXTINF:1e9,\nseg1.ts\n", nil, "EXTINF"},
		{"EXTINF twice", "#EXTM3U\n#EXTINF:2,\n#EXTINF:2,\nseg1.ts\n", nil, "without a URI"},
		{"EXTINF last", "#EXTM3U\n#EXTINF:2,\n", nil, "no URI"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { check(t, ParseHLS, base, tc.body, tc.want, tc.err) })
	}
}

func TestParseMPD(t *testing.T) {
	base, _ := url.Parse("https://o.test/d/t/manifest.mpd")
	tests := []struct {
		name, body string
		want       []Rendition
		err        string
	}{
		{"number template on the set", `<MPD><Period><AdaptationSet><SegmentTemplate media="$RepresentationID$/c-$Number%05d$.m4s" timescale="90000" duration="540000"/>` +
			`<Representation id="720p" bandwidth="1"/><Representation id="1080p"/></AdaptationSet></Period></MPD>`,
			[]Rendition{{"/d/t/720p/c-0.m4s", 6000}, {"/d/t/1080p/c-0.m4s", 6000}}, ""},
		{"timeline, base URLs, bandwidth", `<MPD><BaseURL>v/</BaseURL><Period><AdaptationSet><Representation id="a" bandwidth="64000"><BaseURL>audio/</BaseURL>` +
			`<SegmentTemplate media="$Bandwidth$-$Time$.m4s" timescale="1000"><SegmentTimeline><S t="0" d="2000" r="2"/><S d="1000"/></SegmentTimeline></SegmentTemplate>` +
			`</Representation></AdaptationSet></Period></MPD>`,
			[]Rendition{{"/d/t/v/audio/64000-0.m4s", 1750}}, ""},
		{"segment base left out", `<MPD><Period><AdaptationSet><Representation id="a"><BaseURL>a.mp4</BaseURL></Representation></AdaptationSet></Period></MPD>`, nil, ""},
		{"not an MPD", `<html/>`, nil, "MPD"},
		{"not XML", `{"a":1}`, nil, "dash"},
		{"bad timescale", `<MPD><Period><AdaptationSet><SegmentTemplate media="$Number$.m4s" timescale="0" duration="2"/><Representation id="a"/></AdaptationSet></Period></MPD>`, nil, "timescale"},
		{"bad d", `<MPD><Period><AdaptationSet><SegmentTemplate media="$Number$.m4s"><SegmentTimeline><S d="x"/></SegmentTimeline></SegmentTemplate><Representation id="a"/></AdaptationSet></Period></MPD>`, nil, "S@d"},
		{"unknown identifier", `<MPD><Period><AdaptationSet><SegmentTemplate media="$Foo$.m4s" duration="2"/><Representation id="a"/></AdaptationSet></Period></MPD>`, nil, "$Foo$"},
		{"unclosed", `<MPD><Period><AdaptationSet><SegmentTemplate media="$Number.m4s" duration="2"/><Representation id="a"/></AdaptationSet></Period></MPD>`, nil, "unclosed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { check(t, ParseMPD, base, tc.body, tc.want, tc.err) })
	}
}

// check runs a parser on body and compares its renditions with want, or
// its error with wantErr (a part of the message).
func check(t *testing.T, parse func(*url.URL, []byte) ([]Rendition, error), base *url.URL, body string, want []Rendition, wantErr string) {
	t.Helper()
	got, err := parse(base, []byte(body))
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err %v, want %q", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%+v, want %+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("%+v, want %+v", got[i], want[i])
		}
	}
}

func TestTemplate(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"/live/ch1/seg-0-1234.m4s", "/live/ch1/seg-0-#.m4s"},
		{"/vod/t/720p/000042.ts", "/vod/t/720p/#.ts"},
		{"/vod/t/chunk-stream1-00042.m4s", "/vod/t/chunk-stream1-#.m4s"},
		{"/vod/t/video/t=90000.m4s", "/vod/t/video/t=#.m4s"},
		{"/vod/t/init.mp4", "/vod/t/init.mp4"},
		{"/vod/t/42", "/vod/t/#"},
		{"/vod/t/.42", "/vod/t/.#"},
	} {
		if got := Template(tc.path); got != tc.want {
			t.Errorf("Template(%s) = %s, want %s", tc.path, got, tc.want)
		}
	}
}

// FuzzParseHLS: any input is a playlist or an error, never a panic, and
// every rendition found has a template of this origin.
func FuzzParseHLS(f *testing.F) {
	f.Add([]byte("#EXTM3U\n#EXTINF:2,\nseg1.ts\n"))
	f.Add([]byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nmedia_0.m3u8\n"))
	f.Add([]byte("#EXTM3U\r\n#EXTINF:2.5\r\n//other/seg1.ts\r\n"))
	base, _ := url.Parse("http://o.test/a/b.m3u8")
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := ParseHLS(base, b)
		if err != nil {
			return
		}
		for _, r := range rs {
			if !strings.HasPrefix(r.Path, "/") || r.MS > maxSegmentMS {
				t.Fatalf("%+v", r)
			}
		}
	})
}

// FuzzParseMPD: the same for MPDs.
func FuzzParseMPD(f *testing.F) {
	f.Add([]byte(`<MPD><Period><AdaptationSet><SegmentTemplate media="$RepresentationID$/$Number$.m4s" duration="2"/><Representation id="a"/></AdaptationSet></Period></MPD>`))
	f.Add([]byte(`<MPD><Period><AdaptationSet><Representation id="a"><SegmentTemplate media="$Time$.m4s"><SegmentTimeline><S d="2" r="-1"/></SegmentTimeline></SegmentTemplate></Representation></AdaptationSet></Period></MPD>`))
	base, _ := url.Parse("http://o.test/a/b.mpd")
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := ParseMPD(base, b)
		if err != nil {
			return
		}
		for _, r := range rs {
			if !strings.HasPrefix(r.Path, "/") || r.MS > maxSegmentMS {
				t.Fatalf("%+v", r)
			}
		}
	})
}
