package simulate

import (
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/smd-media/smd/media"
)

func TestParseSampleClip(t *testing.T) {
	read := func(name string) []byte {
		b, err := fs.ReadFile(media.VOD(), name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	master := read("master.m3u8")
	if isMediaPlaylist(master) {
		t.Error("master.m3u8 taken for a media playlist")
	}
	mv, err := parseMultivariant(master)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mv.variants, []string{"media_0.m3u8", "media_1.m3u8"}) || !slices.Equal(mv.audio, []string{"media_2.m3u8"}) {
		t.Errorf("multivariant %+v", mv)
	}
	p, err := parseMedia(read("media_0.m3u8"))
	if err != nil {
		t.Fatal(err)
	}
	if p.targetDuration != 2*time.Second || p.mediaSequence != 1 || p.mapURI != "init-0.m4s" || len(p.segments) != 6 || !p.endList || p.lastSequence() != 6 {
		t.Errorf("media playlist %+v", p)
	}
}

func TestParseLive(t *testing.T) {
	live := "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:881\n" +
		"#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init-1.m4s\"\n#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:29:20.000Z\n" +
		"#EXTINF:2.000,\nseg-1-5.m4s\n#EXTINF:2.000,\nseg-1-6.m4s\n#EXTINF:2.000,\nseg-1-1.m4s\n"
	p, err := parseMedia([]byte(live))
	if err != nil {
		t.Fatal(err)
	}
	if p.endList || p.mediaSequence != 881 || p.lastSequence() != 883 || p.mapURI != "init-1.m4s" {
		t.Errorf("%+v", p)
	}
	for _, bad := range []string{"", "#EXTM3U\nseg.ts\n", "not a playlist", "#EXTM3U\n#EXT-X-TARGETDURATION:x\n", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:-1\n"} {
		if _, err := parseMedia([]byte(bad)); err == nil {
			t.Errorf("parseMedia(%q) did not fail", bad)
		}
	}
	if _, err := parseMultivariant([]byte("#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,URI=\"a.m3u8\"\n")); err == nil {
		t.Error("a multivariant playlist without variants passed")
	}
}

func TestAttr(t *testing.T) {
	line := `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="group_A1",NAME="a,b",DEFAULT=YES,URI="media_2.m3u8"`
	for name, want := range map[string]string{"TYPE": "AUDIO", "GROUP-ID": "group_A1", "NAME": "a,b", "DEFAULT": "YES", "URI": "media_2.m3u8", "X": ""} {
		if got := attr(line, name); got != want {
			t.Errorf("attr %s = %q, want %q", name, got, want)
		}
	}
}
