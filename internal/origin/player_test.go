package origin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests use ffprobe and ffmpeg as the players: real demuxers read
// the origin's playlists, manifests and segments over HTTP.

// requireTool returns the path of a program that a test needs. It fails,
// never skips: a test run without ffmpeg has not tested the origin.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found in PATH: run scripts/test.sh, which installs it (apt-get install ffmpeg)", name)
	}
	return p
}

// runTool runs a program with a deadline and returns its standard output.
// The deadline kills it (ffmpeg does not always stop on SIGTERM).
func runTool(t *testing.T, timeout time.Duration, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, requireTool(t, name), args...)
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: killed after %v\n%s", name, strings.Join(args, " "), time.Since(start).Round(time.Millisecond), tail(stderr.Bytes()))
	}
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(stderr.Bytes()))
	}
	return stdout.Bytes()
}

// tail returns the last lines of a program's output.
func tail(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// probe is what ffprobe -show_format -show_streams says.
type probe struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecName  string `json:"codec_name"`
		CodecType  string `json:"codec_type"`
		Profile    string `json:"profile"`
		PixFmt     string `json:"pix_fmt"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
		SampleRate string `json:"sample_rate"`
	} `json:"streams"`
}

func ffprobe(t *testing.T, input string) probe {
	t.Helper()
	out := runTool(t, 30*time.Second, "ffprobe", "-v", "error", "-rw_timeout", "5000000",
		"-print_format", "json", "-show_format", "-show_streams", input)
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return p
}

func (p probe) duration(t *testing.T) float64 {
	t.Helper()
	d, err := strconv.ParseFloat(p.Format.Duration, 64)
	if err != nil {
		t.Fatalf("duration %q: %v", p.Format.Duration, err)
	}
	return d
}

// checkStreams checks that p has H.264 Main yuv420p video at each of the
// heights and AAC audio.
func (p probe) checkStreams(t *testing.T, heights ...int) {
	t.Helper()
	var gotHeights []int
	var audio int
	for _, s := range p.Streams {
		switch s.CodecType {
		case "video":
			if s.CodecName != "h264" || s.Profile != "Main" || s.PixFmt != "yuv420p" {
				t.Errorf("video stream %+v; want h264 Main yuv420p", s)
			}
			gotHeights = append(gotHeights, s.Height)
		case "audio":
			if s.CodecName != "aac" || s.SampleRate != "32000" {
				t.Errorf("audio stream %+v; want aac at 32000 Hz", s)
			}
			audio++
		}
	}
	if fmt.Sprint(gotHeights) != fmt.Sprint(heights) || audio != 1 {
		t.Errorf("video heights %v and %d audio streams; want %v and 1", gotHeights, audio, heights)
	}
}

func TestFFprobeVOD(t *testing.T) {
	srv, _ := newTestServer(t, Config{}, testEpoch)
	tests := []struct {
		name, path string
	}{
		{"HLS", "/vod/m1/master.m3u8"},
		{"DASH", "/vod/m2/manifest.mpd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			p := ffprobe(t, srv.URL+tc.path)
			if d := p.duration(t); math.Abs(d-12) > 0.1 {
				t.Errorf("duration %v s, want 12", d)
			}
			p.checkStreams(t, 360, 720)
			t.Logf("ffprobe %s: %v", tc.path, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestFFmpegLive pulls 6 seconds of the live streams with ffmpeg, on the
// real clock, and checks what it recorded.
func TestFFmpegLive(t *testing.T) {
	srv, _ := newTestServer(t, Config{Now: time.Now, LiveEpoch: DefaultLiveEpoch}, time.Time{})
	dir := t.TempDir()
	tests := []struct {
		name, path string
	}{
		{"HLS", "/live/ch1/master.m3u8"},
		{"DASH", "/live/ch2/manifest.mpd"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".mp4")
			start := time.Now()
			// Live HLS waits for new segments (at most one, 2 s); DASH starts
			// 8 s behind the live edge and needs none.
			runTool(t, 20*time.Second, "ffmpeg", "-nostdin", "-v", "error", "-y", "-rw_timeout", "5000000",
				"-i", srv.URL+tc.path, "-map", "0:v:0", "-map", "0:a:0", "-t", "6", "-c", "copy", out)
			took := time.Since(start)
			p := ffprobe(t, out)
			if d := p.duration(t); d < 5.9 || d > 6.2 {
				t.Errorf("recorded %v s, want 6", d)
			}
			p.checkStreams(t, 360)
			checkPackets(t, out)
			t.Logf("ffmpeg %s: 6 s recorded in %v", tc.path, took.Round(time.Millisecond))
		})
	}
}

// TestFFprobeLiveLoop joins live segments across two loops of the clip
// into one file, as a player's buffer does, and checks with ffprobe that
// time runs on without a jump or a gap.
func TestFFprobeLiveLoop(t *testing.T) {
	const latest = 6*500 + 4
	srv, _ := newTestServer(t, Config{}, testEpoch.Add(latest*2*time.Second))
	dir := t.TempDir()
	for _, rep := range []string{"0", "2"} {
		t.Run("rep "+rep, func(t *testing.T) {
			b := do(t, "GET", srv.URL+"/live/ch1/init-"+rep+".m4s").body
			for n := latest - 9; n <= latest; n++ { // 10 segments, across 2 loop boundaries
				r := do(t, "GET", fmt.Sprintf("%s/live/ch1/seg-%s-%d.m4s", srv.URL, rep, n))
				if r.status != 200 {
					t.Fatalf("segment %d: status %d", n, r.status)
				}
				b = append(b, r.body...)
			}
			file := filepath.Join(dir, rep+".mp4")
			if err := os.WriteFile(file, b, 0o600); err != nil {
				t.Fatal(err)
			}
			spans := checkPackets(t, file)
			s := spans["0"]
			if len(spans) != 1 || math.Abs(s.end-s.start-20) > 0.001 {
				t.Errorf("streams %+v; want one of 20 s", spans)
			}
			if rep == "0" && s.packets != 500 {
				t.Errorf("%d video packets, want 500", s.packets)
			}
			if rep == "2" && s.packets != 625 { // 20 s of 1024 samples at 32 kHz
				t.Errorf("%d audio packets, want 625", s.packets)
			}
		})
	}
}

// streamSpan is what checkPackets found in one stream.
type streamSpan struct {
	packets    int
	start, end float64 // seconds
}

// checkPackets checks that in every stream of file each packet starts where
// the previous one ended, and returns what it found, by stream index.
func checkPackets(t *testing.T, file string) map[string]streamSpan {
	t.Helper()
	out := runTool(t, 30*time.Second, "ffprobe", "-v", "error", "-show_entries",
		"packet=stream_index,dts_time,duration_time", "-of", "csv=p=0", file)
	spans := map[string]streamSpan{}
	lastDur := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, ",")
		if len(f) != 3 {
			t.Fatalf("ffprobe line %q", line)
		}
		stream := f[0]
		dts, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatalf("ffprobe line %q: %v", line, err)
		}
		// ffprobe gives N/A for the duration of the first AAC packet (the
		// encoder's priming, which the edit list hides). A packet of unknown
		// duration (NaN) is not checked against the next; a later N/A takes
		// the previous packet's duration.
		dur, ok := lastDur[stream]
		if !ok {
			dur = math.NaN()
		}
		if f[2] != "N/A" {
			if dur, err = strconv.ParseFloat(f[2], 64); err != nil {
				t.Fatalf("ffprobe line %q: %v", line, err)
			}
		}
		lastDur[stream] = dur
		s, ok := spans[stream]
		switch {
		case !ok:
			s.start = dts
		case math.IsNaN(s.end):
			// the previous packet's duration is unknown: nothing to check
		case math.Abs(dts-s.end) > 0.0015:
			t.Fatalf("stream %s: packet at %.4f s, the previous one ended at %.4f s", stream, dts, s.end)
		}
		s.packets++
		s.end = dts + dur
		spans[stream] = s
	}
	return spans
}
