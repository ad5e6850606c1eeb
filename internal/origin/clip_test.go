package origin

import (
	"io/fs"
	"math"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/smd-media/smd/media"
)

func TestLoadClipRealMedia(t *testing.T) {
	c, err := loadClip(media.VOD())
	if err != nil {
		t.Fatal(err)
	}
	if c.segDur != 2*time.Second || c.count != 6 || c.length != 12*time.Second || c.target != 2 {
		t.Errorf("segDur %v, count %d, length %v, target %d; want 2s, 6, 12s, 2", c.segDur, c.count, c.length, c.target)
	}
	want := []struct {
		id, contentType, init, playlist string
		timescale                       uint32
	}{
		{"0", typeVideo, "init-0.m4s", "media_0.m3u8", 12800},
		{"1", typeVideo, "init-1.m4s", "media_1.m3u8", 12800},
		{"2", typeAudio, "init-2.m4s", "media_2.m3u8", 32000},
	}
	if len(c.reps) != len(want) {
		t.Fatalf("%d renditions, want %d", len(c.reps), len(want))
	}
	for i, w := range want {
		r := c.reps[i]
		if r.id != w.id || r.contentType != w.contentType || r.init.name != w.init || r.playlist != w.playlist ||
			r.track.timescale != w.timescale || len(r.segments) != 6 || c.playlists[w.playlist] != r {
			t.Errorf("rendition %d: %+v; want %+v", i, r, w)
		}
		if got := r.media.name(3); got != "seg-"+w.id+"-3.m4s" {
			t.Errorf("rendition %s: segment 3 is %q", w.id, got)
		}
	}
	// Every file of the clip is served, and nothing else.
	var names []string
	fs.WalkDir(media.VOD(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if len(names) != len(c.files) {
		t.Errorf("%d files in the clip, %d served", len(names), len(c.files))
	}
	for _, n := range names {
		if c.files[n] == nil {
			t.Errorf("%s not served", n)
		}
	}
	for _, ts := range []uint32{12800, 32000, 1000000} {
		if got, err := c.loopTicks(ts); err != nil || got != 12*uint64(ts) {
			t.Errorf("loopTicks(%d) = %d, %v", ts, got, err)
		}
	}
	odd := &clip{length: 1500 * time.Millisecond}
	if _, err := odd.loopTicks(1); err == nil {
		t.Error("loopTicks: 1.5 s in whole seconds must fail")
	}
	if _, err := odd.loopTicks(0); err == nil {
		t.Error("loopTicks(0) must fail")
	}
	if got, err := odd.shift(3)(1000); err != nil || got != 4500 {
		t.Errorf("shift(3)(1000) = %d, %v; want 4500", got, err)
	}
	if _, err := c.shift(1 << 62)(32000); err == nil {
		t.Error("shift past 64 bits must fail")
	}
}

// mediaMap returns a writable copy of the clip.
func mediaMap(t *testing.T) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(media.VOD(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(media.VOD(), p)
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLoadClipErrors(t *testing.T) {
	edit := func(name, old, new string) func(fstest.MapFS) {
		return func(m fstest.MapFS) {
			m[name] = &fstest.MapFile{Data: []byte(strings.Replace(string(m[name].Data), old, new, 1))}
		}
	}
	tests := []struct {
		name   string
		change func(fstest.MapFS)
		want   string // in the error
	}{
		{"no mpd", func(m fstest.MapFS) { delete(m, "manifest.mpd") }, "manifest.mpd"},
		{"no master", func(m fstest.MapFS) { delete(m, "master.m3u8") }, "master.m3u8"},
		{"mpd not xml", edit("manifest.mpd", "<MPD", "<<MPD"), "parse mpd"},
		{"mpd without namespace", edit("manifest.mpd", `xmlns="urn:mpeg:dash:schema:mpd:2011"`, ""), "name space"},
		{"no init", func(m fstest.MapFS) { delete(m, "init-1.m4s") }, "init-1.m4s"},
		{"no first segment", func(m fstest.MapFS) { delete(m, "seg-2-1.m4s") }, "no segment"},
		{"a segment fewer", func(m fstest.MapFS) { delete(m, "seg-1-6.m4s") }, "5 segments, others 6"},
		{"segments out of order", func(m fstest.MapFS) {
			m["seg-0-2.m4s"], m["seg-0-3.m4s"] = m["seg-0-3.m4s"], m["seg-0-2.m4s"]
		}, "starts at"},
		{"segment not mp4", func(m fstest.MapFS) { m["seg-0-4.m4s"] = &fstest.MapFile{Data: []byte("nope")} }, "seg-0-4.m4s"},
		{"init of another rendition", func(m fstest.MapFS) { m["init-0.m4s"] = m["init-2.m4s"] }, "lasts"},
		{"mime type", edit("manifest.mpd", `mimeType="audio/mp4"`, `mimeType="text/vtt"`), "mimeType"},
		{"template field", edit("manifest.mpd", "$Number$", "$Time$"), "$Time$"},
		{"numbered init", edit("manifest.mpd", `initialization="init-$RepresentationID$.m4s"`, `initialization="init-$Number$.m4s"`), "not in initialization"},
		{"segment duration", edit("manifest.mpd", `duration="2000000"`, `duration="3000000"`), "segments of"},
		{"playlist lists another segment", edit("media_1.m3u8", "seg-1-4.m4s", "seg-1-5.m4s"), "lists seg-1-5.m4s"},
		{"playlist missing", edit("master.m3u8", "media_0.m3u8", "media_9.m3u8"), "media_9.m3u8"},
		{"playlist outside the root", edit("master.m3u8", "media_0.m3u8", "../media_0.m3u8"), "plain name"},
		{"playlist of no rendition", edit("media_0.m3u8", `URI="init-0.m4s"`, `URI="init-9.m4s"`), "no representation"},
		{"two playlists of one rendition", edit("master.m3u8", "media_1.m3u8", "media_0.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=1\nmedia_1.m3u8"), ""},
		{"master not a playlist", edit("master.m3u8", "#EXTM3U", "#EXTM3X"), "#EXTM3U"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mediaMap(t)
			tc.change(m)
			c, err := loadClip(m)
			if tc.name == "two playlists of one rendition" {
				// master now names media_0.m3u8 twice: the same playlist, accepted.
				if err != nil {
					t.Fatalf("loadClip: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("loadClip = %+v; want an error", c)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestTicksDuration(t *testing.T) {
	tests := []struct {
		ticks     uint64
		timescale uint32
		want      time.Duration
	}{
		{64512, 32000, 2016 * time.Millisecond},
		{25600, 12800, 2 * time.Second},
		{1, 3, 333333333},
		{0, 1000, 0},
		{1 << 62, 1, math.MaxInt64},
		{1, 0, math.MaxInt64},
	}
	for _, tc := range tests {
		if got := ticksDuration(tc.ticks, tc.timescale); got != tc.want {
			t.Errorf("ticksDuration(%d, %d) = %v, want %v", tc.ticks, tc.timescale, got, tc.want)
		}
	}
}
