package origin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smd-media/smd/internal/mediatime"
)

// TestLongTitle: /long/<minutes>/ serves a VOD title of that length: every
// segment listed with EXT-X-ENDLIST, each segment served, none past the
// end, a static MPD of that duration; bad lengths are 404.
func TestLongTitle(t *testing.T) {
	srv, _ := newTestServer(t, Config{}, testEpoch)
	r := do(t, "GET", srv.URL+"/long/3/film/media_0.m3u8")
	if r.status != http.StatusOK {
		t.Fatalf("playlist: %d", r.status)
	}
	body := string(r.body)
	if n := strings.Count(body, "#EXTINF:"); n != 90 || !strings.HasSuffix(body, "#EXT-X-ENDLIST\n") ||
		!strings.Contains(body, "#EXT-X-PLAYLIST-TYPE:VOD") || !strings.Contains(body, "\nseg-0-90.m4s\n") {
		t.Fatalf("playlist of %d segments:\n%s", n, body)
	}
	base, _ := url.Parse(srv.URL + "/long/3/film/media_0.m3u8")
	rs, err := mediatime.ParseHLS(base, r.body)
	if err != nil || len(rs) != 1 || rs[0].MS != 2000 {
		t.Errorf("durations %+v, %v", rs, err)
	}
	for p, want := range map[string]int{
		"/long/3/film/seg-0-1.m4s": 200, "/long/3/film/seg-2-90.m4s": 200, "/long/3/film/seg-1-91.m4s": 404,
		"/long/3/film/seg-0-0.m4s": 404, "/long/3/film/init-1.m4s": 200, "/long/3/film/master.m3u8": 200,
		"/long/0/film/master.m3u8": 404, "/long/1441/film/master.m3u8": 404, "/long/03/film/master.m3u8": 404,
		"/long/x/film/master.m3u8": 404, "/long/3/.film/master.m3u8": 404,
	} {
		if got := do(t, "GET", srv.URL+p).status; got != want {
			t.Errorf("%s: %d, want %d", p, got, want)
		}
	}
	r = do(t, "GET", srv.URL+"/long/3/film/manifest.mpd")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `type="static"`) ||
		!strings.Contains(string(r.body), `mediaPresentationDuration="PT180S"`) {
		t.Fatalf("mpd: %d\n%s", r.status, r.body)
	}
}

// TestFFprobeLong: ffprobe reads the long title, HLS and DASH, as lasting
// its length.
func TestFFprobeLong(t *testing.T) {
	requireTool(t, "ffprobe")
	srv, _ := newTestServer(t, Config{}, testEpoch)
	for _, m := range []string{"master.m3u8", "manifest.mpd"} {
		p := ffprobe(t, srv.URL+"/long/2/film/"+m)
		if d := p.duration(t); d < 119 || d > 121 {
			t.Errorf("%s: %v s, want 120", m, d)
		}
	}
}
