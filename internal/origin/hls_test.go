package origin

import (
	"slices"
	"testing"
)

func TestPlaylistURIs(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "ffmpeg", in: "#EXTM3U\n#EXT-X-VERSION:7\n" +
			`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="audio_2",DEFAULT=YES,URI="media_2.m3u8"` + "\n" +
			`#EXT-X-STREAM-INF:BANDWIDTH=417286,RESOLUTION=640x360,CODECS="avc1.4d401e,mp4a.40.2",AUDIO="a"` + "\n" +
			"media_0.m3u8\n\n#EXT-X-STREAM-INF:BANDWIDTH=1\r\nmedia_1.m3u8\r\n",
			want: []string{"media_2.m3u8", "media_0.m3u8", "media_1.m3u8"}},
		{name: "i-frame playlist", in: "#EXTM3U\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"iframes.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n",
			want: []string{"iframes.m3u8", "a.m3u8"}},
		{name: "media without URI", in: "#EXTM3U\n#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,INSTREAM-ID=\"CC1\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\na.m3u8\n",
			want: []string{"a.m3u8"}},
		{name: "no playlist", in: "#EXTM3U\n#EXT-X-VERSION:7\n", wantErr: true},
		{name: "not a playlist", in: "media_0.m3u8\n", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := playlistURIs([]byte(tc.in))
			if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
				t.Fatalf("playlistURIs = %q, %v; want %q, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseMediaPlaylist(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    mediaPlaylist
		wantErr bool
	}{
		{name: "ffmpeg", in: "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n" +
			"#EXT-X-MAP:URI=\"init-0.m4s\"\n#EXTINF:2.000000,\nseg-0-1.m4s\n#EXTINF:2.000000,\nseg-0-2.m4s\n#EXT-X-ENDLIST\n",
			want: mediaPlaylist{mapURI: "init-0.m4s", segments: []string{"seg-0-1.m4s", "seg-0-2.m4s"}}},
		{name: "map with byte range", in: "#EXTM3U\n#EXT-X-MAP:BYTERANGE=\"10@0\",URI=\"i.mp4\"\ns.m4s\n",
			want: mediaPlaylist{mapURI: "i.mp4", segments: []string{"s.m4s"}}},
		{name: "no map", in: "#EXTM3U\n#EXTINF:2,\ns.m4s\n", wantErr: true},
		{name: "two maps", in: "#EXTM3U\n#EXT-X-MAP:URI=\"a\"\n#EXT-X-MAP:URI=\"b\"\ns.m4s\n", wantErr: true},
		{name: "empty map", in: "#EXTM3U\n#EXT-X-MAP:URI=\"\"\ns.m4s\n", wantErr: true},
		{name: "no segment", in: "#EXTM3U\n#EXT-X-MAP:URI=\"a\"\n", wantErr: true},
		{name: "not a playlist", in: "s.m4s\n", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMediaPlaylist([]byte(tc.in))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseMediaPlaylist = %+v; want an error", got)
				}
				return
			}
			if err != nil || got.mapURI != tc.want.mapURI || !slices.Equal(got.segments, tc.want.segments) {
				t.Fatalf("parseMediaPlaylist = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
