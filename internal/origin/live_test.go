package origin

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLiveNotStarted(t *testing.T) {
	srv, clock := newTestServer(t, Config{}, testEpoch.Add(-time.Hour))
	paths := []string{"/live/ch1/media_0.m3u8", "/live/ch1/manifest.mpd", "/live/ch1/seg-0-1.m4s"}
	for _, at := range []time.Time{testEpoch.Add(-time.Hour), testEpoch, testEpoch.Add(1999 * time.Millisecond)} {
		clock.Set(at)
		for _, p := range paths {
			if r := do(t, "GET", srv.URL+p); r.status != http.StatusNotFound {
				t.Errorf("%s at %v: status %d, want 404", p, at, r.status)
			}
		}
	}
	clock.Set(testEpoch.Add(2 * time.Second))
	for _, p := range paths {
		if r := do(t, "GET", srv.URL+p); r.status != http.StatusOK {
			t.Errorf("%s at the end of segment 1: status %d, want 200", p, r.status)
		}
	}
	// The multivariant playlist and init segments do not depend on time.
	clock.Set(testEpoch.Add(-time.Hour))
	for _, p := range []string{"/live/ch1/master.m3u8", "/live/ch1/init-0.m4s"} {
		if r := do(t, "GET", srv.URL+p); r.status != http.StatusOK {
			t.Errorf("%s: status %d", p, r.status)
		}
	}
}

// playlistEntry is one segment of a parsed live media playlist.
type playlistEntry struct {
	duration float64
	uri      string
}

// parseLivePlaylist returns the media sequence, the target duration, the
// program date-time and the entries of a live media playlist.
func parseLivePlaylist(t *testing.T, b []byte) (seq uint64, target int, pdt time.Time, entries []playlistEntry) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if lines[0] != "#EXTM3U" {
		t.Fatalf("playlist begins with %q", lines[0])
	}
	var dur float64
	for _, l := range lines[1:] {
		var err error
		switch {
		case strings.HasPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"):
			seq, err = strconv.ParseUint(strings.TrimPrefix(l, "#EXT-X-MEDIA-SEQUENCE:"), 10, 64)
		case strings.HasPrefix(l, "#EXT-X-TARGETDURATION:"):
			target, err = strconv.Atoi(strings.TrimPrefix(l, "#EXT-X-TARGETDURATION:"))
		case strings.HasPrefix(l, "#EXT-X-PROGRAM-DATE-TIME:"):
			pdt, err = time.Parse(time.RFC3339Nano, strings.TrimPrefix(l, "#EXT-X-PROGRAM-DATE-TIME:"))
		case strings.HasPrefix(l, "#EXTINF:"):
			dur, err = strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(l, "#EXTINF:"), ","), 64)
		case strings.HasPrefix(l, "#EXT-X-ENDLIST"):
			t.Fatal("a live playlist has no EXT-X-ENDLIST")
		case !strings.HasPrefix(l, "#"):
			entries = append(entries, playlistEntry{dur, l})
		}
		if err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
	}
	return seq, target, pdt, entries
}

func TestLivePlaylistAdvances(t *testing.T) {
	start := testEpoch.Add(1000 * time.Second) // latest segment 500
	srv, clock := newTestServer(t, Config{}, start)
	audioDur := []float64{2.016, 1.984, 2.016, 1.984, 2.016, 1.984} // clip segments 1-6
	tests := []struct {
		name   string
		at     time.Duration // after start
		latest uint64
	}{
		{"start", 0, 500},
		{"a moment later", 1999 * time.Millisecond, 500},
		{"next segment", 2 * time.Second, 501},
		{"a loop later", 12 * time.Second, 506},
		{"an hour later", time.Hour, 2300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Set(start.Add(tc.at))
			for _, rep := range []string{"0", "1", "2"} {
				r := do(t, "GET", srv.URL+"/live/ch1/media_"+rep+".m3u8")
				if r.status != 200 || r.header.Get("Content-Type") != typeHLS || r.header.Get("Cache-Control") != cacheLiveManifest {
					t.Fatalf("media_%s.m3u8: status %d, headers %v", rep, r.status, r.header)
				}
				lastModified, _ := http.ParseTime(r.header.Get("Last-Modified"))
				if want := testEpoch.Add(time.Duration(tc.latest) * 2 * time.Second); !lastModified.Equal(want) {
					t.Errorf("Last-Modified %v, want %v (end of segment %d)", lastModified, want, tc.latest)
				}
				seq, target, pdt, entries := parseLivePlaylist(t, r.body)
				first := tc.latest - 4
				if seq != first || target != 2 || len(entries) != 5 {
					t.Fatalf("media sequence %d, target %d, %d entries; want %d, 2, 5", seq, target, len(entries), first)
				}
				wantPDT := testEpoch.Add(time.Duration(first-1) * 2 * time.Second)
				if rep == "2" { // audio segments start where the audio of the clip does
					var off float64
					for i := range int((first - 1) % 6) {
						off += audioDur[i]
					}
					wantPDT = testEpoch.Add(time.Duration((first-1)/6) * 12 * time.Second).Add(time.Duration(off * float64(time.Second)))
				}
				if !pdt.Equal(wantPDT) {
					t.Errorf("program date-time %v, want %v", pdt, wantPDT)
				}
				for i, e := range entries {
					n := first + uint64(i)
					if e.uri != fmt.Sprintf("seg-%s-%d.m4s", rep, n) {
						t.Errorf("entry %d: %q", i, e.uri)
					}
					want := 2.0
					if rep == "2" {
						want = audioDur[(n-1)%6]
					}
					if e.duration != want {
						t.Errorf("%s: EXTINF %v, want %v", e.uri, e.duration, want)
					}
					// Every listed segment is served.
					if s := do(t, "HEAD", srv.URL+"/live/ch1/"+e.uri); s.status != 200 {
						t.Errorf("%s: status %d", e.uri, s.status)
					}
				}
			}
		})
	}
}

// mp4Times returns the mfhd sequence number, the tfdt and the duration of
// a live segment of one track.
func mp4Times(t *testing.T, seg []byte, tracks []track) (seq uint32, tfdt, duration uint64) {
	t.Helper()
	f, err := parseFragment(seg, tracks)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.seqOffs) != 1 || len(f.tracks) != 1 {
		t.Fatalf("%d mfhd, %d tracks", len(f.seqOffs), len(f.tracks))
	}
	for _, tf := range f.times {
		if tf.value != f.tracks[0].start {
			t.Errorf("sidx and tfdt differ: %d, %d", tf.value, f.tracks[0].start)
		}
	}
	return binary.BigEndian.Uint32(seg[f.seqOffs[0]:]), f.tracks[0].start, f.tracks[0].duration
}

// TestLiveSegmentsContinuous fetches live segments across loops of the clip
// and checks that each starts where the previous one ended, in every
// rendition, and that audio and video stay together.
func TestLiveSegmentsContinuous(t *testing.T) {
	const latest = 6*1000000 + 3 // a million loops on
	srv, _ := newTestServer(t, Config{LiveWindow: 10}, testEpoch.Add(latest*2*time.Second))
	for _, rep := range []string{"0", "1", "2"} {
		tracks, err := parseInit(readMedia(t, "init-"+rep+".m4s"))
		if err != nil {
			t.Fatal(err)
		}
		ts := uint64(tracks[0].timescale)
		var prevEnd uint64
		for n := uint64(latest - 19); n <= latest; n++ { // crosses three loop boundaries
			r := do(t, "GET", fmt.Sprintf("%s/live/ch1/seg-%s-%d.m4s", srv.URL, rep, n))
			if r.status != 200 {
				t.Fatalf("segment %d: status %d", n, r.status)
			}
			wantType := typeVideo
			if rep == "2" {
				wantType = typeAudio
			}
			if r.header.Get("Content-Type") != wantType || r.header.Get("Cache-Control") != cacheSegment {
				t.Errorf("segment %d: headers %v", n, r.header)
			}
			seq, tfdt, dur := mp4Times(t, r.body, tracks)
			if seq != uint32(n) {
				t.Errorf("segment %d: sequence number %d", n, seq)
			}
			if prevEnd != 0 && tfdt != prevEnd {
				t.Errorf("rendition %s, segment %d starts at %d, the previous one ended at %d", rep, n, tfdt, prevEnd)
			}
			prevEnd = tfdt + dur
			// Media time tracks wall time: within one audio frame of (n-1)·2 s.
			wantStart := (n - 1) * 2 * ts
			if diff := int64(tfdt) - int64(wantStart); diff < -int64(ts)/25 || diff > int64(ts)/25 {
				t.Errorf("rendition %s, segment %d at %d, want about %d", rep, n, tfdt, wantStart)
			}
			// Same bytes as the clip's segment, but for times and sequence number.
			if clip := readMedia(t, fmt.Sprintf("seg-%s-%d.m4s", rep, (n-1)%6+1)); len(clip) != len(r.body) {
				t.Errorf("segment %d: %d bytes, the clip's %d", n, len(r.body), len(clip))
			}
		}
	}
}

// liveMPD is what the tests read from a live MPD.
type liveMPD struct {
	XMLName                    xml.Name `xml:"urn:mpeg:dash:schema:mpd:2011 MPD"`
	Type                       string   `xml:"type,attr"`
	AvailabilityStartTime      string   `xml:"availabilityStartTime,attr"`
	PublishTime                string   `xml:"publishTime,attr"`
	MediaPresentationDuration  string   `xml:"mediaPresentationDuration,attr"`
	MinimumUpdatePeriod        string   `xml:"minimumUpdatePeriod,attr"`
	TimeShiftBufferDepth       string   `xml:"timeShiftBufferDepth,attr"`
	SuggestedPresentationDelay string   `xml:"suggestedPresentationDelay,attr"`
	MaxSegmentDuration         string   `xml:"maxSegmentDuration,attr"`
	Periods                    []struct {
		Start string `xml:"start,attr"`
		Sets  []struct {
			ContentType string `xml:"contentType,attr"`
			Reps        []struct {
				ID       string `xml:"id,attr"`
				Template struct {
					Timescale      uint64 `xml:"timescale,attr"`
					Duration       uint64 `xml:"duration,attr"`
					StartNumber    string `xml:"startNumber,attr"`
					Initialization string `xml:"initialization,attr"`
					Media          string `xml:"media,attr"`
				} `xml:"SegmentTemplate"`
			} `xml:"Representation"`
		} `xml:"AdaptationSet"`
	} `xml:"Period"`
	UTCTiming []struct {
		Scheme string `xml:"schemeIdUri,attr"`
		Value  string `xml:"value,attr"`
	} `xml:"UTCTiming"`
}

func TestLiveMPD(t *testing.T) {
	now := testEpoch.Add(time.Hour + 500*time.Millisecond) // latest segment 1800
	srv, _ := newTestServer(t, Config{}, now)
	custom, _ := newTestServer(t, Config{TimeURL: "https://time.example/iso"}, now)
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name, url, timeURL string
	}{
		{"request host", srv.URL + "/live/ch1/manifest.mpd", "//" + host + "/time"},
		{"other channel", srv.URL + "/live/sport/manifest.mpd", "//" + host + "/time"},
		{"configured", custom.URL + "/live/ch1/manifest.mpd", "https://time.example/iso"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "GET", tc.url)
			if r.status != 200 || r.header.Get("Content-Type") != typeDASH || r.header.Get("Cache-Control") != cacheLiveManifest {
				t.Fatalf("status %d, headers %v", r.status, r.header)
			}
			var m liveMPD
			if err := xml.Unmarshal(r.body, &m); err != nil {
				t.Fatalf("MPD does not parse: %v\n%s", err, r.body)
			}
			if m.Type != "dynamic" || m.AvailabilityStartTime != "2025-06-01T12:00:00Z" ||
				m.PublishTime != "2025-06-01T13:00:00Z" || m.MediaPresentationDuration != "" ||
				m.MinimumUpdatePeriod != "PT2S" || m.TimeShiftBufferDepth != "PT10S" || m.SuggestedPresentationDelay != "PT8S" ||
				m.MaxSegmentDuration != "PT2.016S" {
				t.Errorf("MPD attributes: %+v", m)
			}
			if len(m.UTCTiming) != 1 || m.UTCTiming[0].Scheme != "urn:mpeg:dash:utc:http-iso:2014" || m.UTCTiming[0].Value != tc.timeURL {
				t.Errorf("UTCTiming %+v, want http-iso at %s", m.UTCTiming, tc.timeURL)
			}
			if len(m.Periods) != 1 || m.Periods[0].Start != "PT0S" || len(m.Periods[0].Sets) != 2 {
				t.Fatalf("periods %+v", m.Periods)
			}
			var reps int
			for _, set := range m.Periods[0].Sets {
				for _, rep := range set.Reps {
					reps++
					tm := rep.Template
					if tm.StartNumber != "1" || tm.Media != "seg-$RepresentationID$-$Number$.m4s" ||
						tm.Initialization != "init-$RepresentationID$.m4s" || tm.Duration*1000/tm.Timescale != 2000 {
						t.Errorf("representation %s: template %+v", rep.ID, tm)
					}
					// The newest segment by the MPD's arithmetic is served; the next one is not yet.
					ast, _ := time.Parse(time.RFC3339, m.AvailabilityStartTime)
					newest := uint64(now.Sub(ast)/(2*time.Second)) + 1 - 1 // startNumber + complete segments - 1
					base := tc.url[:strings.LastIndex(tc.url, "/")+1]
					for n, want := range map[uint64]int{newest: 200, newest + 1: 404, newest - 4: 200} {
						name := strings.NewReplacer("$RepresentationID$", rep.ID, "$Number$", strconv.FormatUint(n, 10)).Replace(tm.Media)
						if got := do(t, "HEAD", base+name).status; got != want {
							t.Errorf("%s: status %d, want %d", name, got, want)
						}
					}
				}
			}
			if reps != 3 {
				t.Errorf("%d representations, want 3", reps)
			}
		})
	}
	// The VOD manifest is the static one.
	var m liveMPD
	if err := xml.Unmarshal(do(t, "GET", srv.URL+"/vod/m1/manifest.mpd").body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "static" || m.MediaPresentationDuration != "PT12.0S" {
		t.Errorf("VOD MPD: type %q, duration %q", m.Type, m.MediaPresentationDuration)
	}
}

func TestLiveMaster(t *testing.T) {
	srv, _ := newTestServer(t, Config{}, testEpoch.Add(time.Hour))
	r := do(t, "GET", srv.URL+"/live/ch1/master.m3u8")
	if r.status != 200 || !bytes.Equal(r.body, readMedia(t, "master.m3u8")) ||
		r.header.Get("Content-Type") != typeHLS || r.header.Get("Cache-Control") != cacheLiveManifest {
		t.Errorf("status %d, headers %v", r.status, r.header)
	}
	uris, err := playlistURIs(r.body)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range uris {
		if got := do(t, "GET", srv.URL+"/live/ch1/"+u); got.status != 200 {
			t.Errorf("%s: status %d", u, got.status)
		}
	}
}

// TestConcurrentRequests serves many requests at once while the clock
// moves (run with -race).
func TestConcurrentRequests(t *testing.T) {
	srv, clock := newTestServer(t, Config{}, testEpoch.Add(time.Hour))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				n := 1790 + (i+j)%10
				for _, p := range []string{"media_2.m3u8", "manifest.mpd", fmt.Sprintf("seg-1-%d.m4s", n)} {
					resp, err := http.Get(srv.URL + "/live/ch1/" + p)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	for range 5 {
		clock.Set(clock.Now().Add(time.Second))
	}
	wg.Wait()
}
