package media

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path"
	"strings"
	"testing"
)

// maxClipBytes bounds the clip committed to the repository.
const maxClipBytes = 3 << 20

func TestVODFiles(t *testing.T) {
	vod := VOD()
	var total int64
	names := map[string]bool{}
	err := fs.WalkDir(vod, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		names[p] = true
		switch path.Ext(p) {
		case ".mpd", ".m3u8", ".m4s":
		default:
			t.Errorf("unexpected file %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > maxClipBytes {
		t.Errorf("clip of %d bytes, over %d", total, maxClipBytes)
	}
	t.Logf("%d files, %d bytes", len(names), total)

	// Every playlist names files that exist, and every file is named.
	named := map[string]bool{"manifest.mpd": true, "master.m3u8": true}
	for _, uri := range uris(t, vod, "master.m3u8") {
		named[uri] = true
		for _, u := range uris(t, vod, uri) {
			named[u] = true
		}
	}
	for n := range named {
		if !names[n] {
			t.Errorf("%s is named by a playlist but missing", n)
		}
	}
	for n := range names {
		if !named[n] {
			t.Errorf("%s is in the clip but no playlist names it", n)
		}
	}
	if len(named) != 2+3+3+18 { // manifests, media playlists, inits, segments
		t.Errorf("%d files named, want 26", len(named))
	}
}

// uris returns the URIs that playlist name references, and checks that it
// holds no wall-clock time (make.sh must be repeatable).
func uris(t *testing.T, vod fs.FS, name string) []string {
	t.Helper()
	b, err := fs.ReadFile(vod, name)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("#EXT-X-PROGRAM-DATE-TIME")) {
		t.Errorf("%s holds a program date-time", name)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, `URI="`); i >= 0 {
			out = append(out, strings.SplitN(line[i+5:], `"`, 2)[0])
		} else if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

func TestMakeScript(t *testing.T) {
	info, err := os.Stat("make.sh")
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode()&0o111 == 0 {
		t.Error("make.sh is not executable")
	}
	b, err := os.ReadFile("make.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ffmpeg", "-seg_duration", "-hls_playlist 1", "-force_key_frames", "-sc_threshold 0"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("make.sh lacks %q", want)
		}
	}
}
