package node

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNginxAuthRequest runs deploy/nginx/smd-auth.conf with Debian's
// nginx in front of smd in auth mode: nginx caches and serves, smd
// decides. A good token plays (ffmpeg pulls the HLS presentation through
// nginx), bad, expired, misbound and revoked ones are refused with 401 or
// 403, the origin sees paths without tokens, nginx's cache key holds no
// token (two sessions share one copy), a revocation takes effect at nginx
// at once, and nginx's access log names the session.
func TestNginxAuthRequest(t *testing.T) {
	nginx := requireProgram(t, "nginx")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := startAuthServe(t)
	n, api, rec, originAddr := s.n, s.api, s.rec, s.originAddr

	dir := t.TempDir()
	addr := freeLoopback(t)
	conf := deployFile(t, "nginx/smd-auth.conf", map[string]string{
		"server 127.0.0.1:9000;":        "server " + n.Edge.Addr + ";",
		"server 127.0.0.1:8081;":        "server " + originAddr + ";",
		"listen 80;":                    "listen " + addr + ";",
		"/var/cache/nginx/smd":          filepath.Join(dir, "cache"),
		"/var/log/nginx/smd-access.log": filepath.Join(dir, "access.log"),
	})
	main := fmt.Sprintf("%s\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\nevents { worker_connections 512; }\nhttp {\n%s%s\n}\n",
		rootUser(), dir, dir, nginxTempPaths(dir), conf)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nginx, "-t", "-q", "-e", filepath.Join(dir, "error.log"), "-c", confFile).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	startProgram(t, dir, addr, nginx, "-e", filepath.Join(dir, "error.log"), "-c", confFile, "-g", "daemon off;")

	p := newViaProxy(t, ctx, api, rec, addr, boundAsset,
		`{"id": "short", "url_path": "/vod/m1/master.m3u8", "endpoint_hostname": "%s", "token_policy": {"ssn": true, "paths": ["/vod/m1/"], "exp": "+1s"}}`)
	master := p.checkCommon("nginx", 5)

	// nginx's own: two sessions share one cached copy, a token above its
	// path, an expired token, and nginx's log.
	viewer := clientFrom("127.0.0.1")
	seg := segment(master)
	other, session := p.playback("m1")
	expired, _ := p.playback("short")
	for _, tc := range []struct {
		name string
		url  string
		want int
	}{
		{"another session's token, same segment", segment(other), 200},
		{"a token above its path", strings.Replace(segment(other), "/vod/m1/", "/vod/m1/../../", 1), 401},
	} {
		if got := statusOf(t, viewer, tc.url); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	waitFor(t, "the 1 s token to expire", func() bool { return statusOf(t, viewer, expired) == 401 })

	// The origin saw paths only, and one fetch of the segment for the two
	// sessions: nginx's cache key is the origin path.
	segPath := "/vod/m1/" + segPathOf(seg)
	if c := rec.count(segPath); c != 1 {
		t.Errorf("the origin was asked %d times for %s (two sessions' tokens): the cache key holds the token?", c, segPath)
	}
	files := 0
	filepath.Walk(filepath.Join(dir, "cache"), func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		files++
		if i := strings.Index(string(b), "\nKEY: "); i < 0 || strings.Contains(string(b[i:min(len(b), i+400)]), "eyJ") || !strings.HasPrefix(string(b[i+6:]), "/vod/m1/") {
			t.Errorf("cache file %s: key %q", p, firstLine(b, i))
		}
		return nil
	})
	if files == 0 {
		t.Error("nginx cached nothing")
	}

	// nginx's access log names the session smd proved.
	time.Sleep(100 * time.Millisecond)
	logb, _ := os.ReadFile(filepath.Join(dir, "access.log"))
	if !strings.Contains(string(logb), "session="+session+" verdict=allow") {
		t.Errorf("nginx's access log lacks the session:\n%s", logb)
	}
}

// segPathOf is the last path element of a URL.
func segPathOf(u string) string {
	p, _ := url.Parse(u)
	return p.Path[strings.LastIndexByte(p.Path, '/')+1:]
}

// flip changes a base64url string's characters (a broken signature).
func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

// firstLine is the line of b at i.
func firstLine(b []byte, i int) string {
	if i < 0 {
		return ""
	}
	s := string(b[i+1:])
	if j := strings.IndexByte(s, '\n'); j >= 0 {
		s = s[:j]
	}
	return s
}
