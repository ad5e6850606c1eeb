package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/origin"
)

// Helpers of the drop-in tests: real proxies (Debian's nginx, Caddy,
// HAProxy) started from the documented configurations in deploy/, in
// front of an smd in auth mode.

// requireProgram returns the path of a program a test needs. It fails,
// never skips: scripts/test.sh installs it.
func requireProgram(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run scripts/test.sh, which installs it (apt-get install %s)", name, name)
	}
	return p
}

// freeLoopback returns a loopback address no one listens on (yet).
func freeLoopback(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// deployFile reads a documented configuration from deploy/ and replaces
// each key of repl with its value; every key must be found, so that the
// test notices when the document changes under it.
func deployFile(t testing.TB, name string, repl map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range repl {
		if !strings.Contains(s, k) {
			t.Fatalf("deploy/%s no longer holds %q", name, k)
		}
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// startProgram runs a server program until the test ends, its output in
// dir/<name>.log, and waits until it listens on addr.
func startProgram(t testing.TB, dir, addr string, name string, args ...string) {
	t.Helper()
	logFile := filepath.Join(dir, filepath.Base(name)+".log")
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	// A group of its own, killed whole: nginx's and HAProxy's workers
	// outlive a master killed alone (seen as orphaned nginx workers after
	// a CI run). Pdeathsig kills the master if the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(exited) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logFile)
			t.Fatalf("%s exited at start:\n%s", name, b)
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile)
			t.Fatalf("%s does not listen on %s after 20 s:\n%s", name, addr, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pathRecorder wraps an origin and records the escaped paths asked of it.
type pathRecorder struct {
	next  http.Handler
	mu    sync.Mutex
	paths []string
}

func (p *pathRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.paths = append(p.paths, r.URL.EscapedPath())
	p.mu.Unlock()
	p.next.ServeHTTP(w, r)
}

// count is how many times path was asked.
func (p *pathRecorder) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, q := range p.paths {
		if q == path {
			n++
		}
	}
	return n
}

// all returns the paths asked so far.
func (p *pathRecorder) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...)
}

// clientFrom is an HTTP client whose connections come from a local
// address (another loopback address: another viewer).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// statusOf GETs url with c and returns the status.
func statusOf(t testing.TB, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// runFFmpeg pulls a whole HLS presentation with ffmpeg, as a player
// would, within a deadline.
func runFFmpeg(t testing.TB, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, requireProgram(t, "ffmpeg"), "-hide_banner", "-loglevel", "error", "-nostdin",
		"-i", url, "-map", "0", "-c", "copy", "-f", "null", "-")
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg through the proxy: %v\n%s", err, stderr.String())
	}
}

// revocationDelays revokes fresh sessions one at a time and measures how
// long until the proxy refuses each (polling every 2 ms); tokenURL makes
// a new session's URL and revoke revokes one.
func revocationDelays(t testing.TB, n int, tokenURL func() (url, session string), revoke func(session string), c *http.Client) []time.Duration {
	t.Helper()
	var delays []time.Duration
	for range n {
		u, sid := tokenURL()
		if code := statusOf(t, c, u); code != 200 {
			t.Fatalf("before the revocation: %d", code)
		}
		revoke(sid)
		t0 := time.Now()
		for statusOf(t, c, u) != http.StatusForbidden {
			if time.Since(t0) > 10*time.Second {
				t.Fatalf("session %s still served 10 s after its revocation", sid)
			}
			time.Sleep(2 * time.Millisecond)
		}
		delays = append(delays, time.Since(t0))
	}
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	return delays
}

// rootUser is nginx's user line when the tests run as root (its workers
// would otherwise run as nobody, who cannot read the test's directories).
func rootUser() string {
	if os.Geteuid() == 0 {
		return "user root;"
	}
	return ""
}

// nginxTempPaths puts nginx's temporary directories under dir.
func nginxTempPaths(dir string) string {
	var b strings.Builder
	for _, k := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "  %s_temp_path %s/%s;\n", k, dir, k)
	}
	return b.String()
}

// refusalSaysNoMore GETs url (which must be refused) and fails if the
// answer carries any of smd's headers or a reason: a proxy that passes
// smd's refusal on as it is must not tell the viewer why.
func refusalSaysNoMore(t testing.TB, c *http.Client, url string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Fatalf("GET %s: %d, want a refusal", url, resp.StatusCode)
	}
	for k := range resp.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-smd-") {
			t.Errorf("the refusal carries %s: %v", k, resp.Header[k])
		}
	}
	for _, r := range []string{"missing", "binding", "signature", "expired"} {
		if strings.Contains(string(b), r) {
			t.Errorf("the refusal's body names a reason: %q", b)
		}
	}
}

// viaProxy is smd serve in auth mode behind a proxy: the token API's
// playback URLs point at the proxy.
type viaProxy struct {
	t    *testing.T
	ctx  context.Context
	api  *client.Client
	rec  *pathRecorder
	addr string // the proxy's
}

// newViaProxy creates the assets (formats whose %s is the proxy's
// address) on the smd in front of which the proxy at addr runs.
func newViaProxy(t *testing.T, ctx context.Context, api *client.Client, rec *pathRecorder, addr string, assets ...string) *viaProxy {
	t.Helper()
	for _, a := range assets {
		if _, err := api.CreateAsset(ctx, []byte(fmt.Sprintf(a, addr))); err != nil {
			t.Fatal(err)
		}
	}
	return &viaProxy{t: t, ctx: ctx, api: api, rec: rec, addr: addr}
}

// boundAsset is asset m1: a title whose tokens bind the viewer's address
// and a session.
const boundAsset = `{"id": "m1", "url_path": "/vod/m1/master.m3u8", "endpoint_hostname": "%s", "token_policy": {"ip": true, "ssn": true, "paths": ["/vod/m1/"], "exp": "+2h"}}`

// playback issues a token of asset and returns its playback URL (the
// master playlist, through the proxy) and session.
func (p *viaProxy) playback(asset string) (url, session string) {
	p.t.Helper()
	tok, err := p.api.Token(p.ctx, asset, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	if !strings.HasPrefix(tok.PlaybackURL, "http://"+p.addr+"/") {
		p.t.Fatalf("playback URL %s is not the proxy's", tok.PlaybackURL)
	}
	return tok.PlaybackURL, tok.SessionID
}

// tokenOf is the token segment of a playback URL.
func (p *viaProxy) tokenOf(u string) string {
	return strings.Split(strings.TrimPrefix(u, "http://"+p.addr+"/"), "/")[0]
}

// checkCommon runs what every proxy in front of smd's auth mode must do,
// with a token of asset m1: ffmpeg plays the presentation; a segment is
// served; no token, a tampered signature, another title and another
// viewer's address are refused with 401, saying nothing more; the origin
// sees only token-free paths of the title; revocations are refused at
// the proxy by the next request (the median of n under 100 ms). It returns
// the master playlist's URL it played.
func (p *viaProxy) checkCommon(proxy string, revocations int) string {
	t := p.t
	t.Helper()
	master, _ := p.playback("m1")
	tok := p.tokenOf(master)
	runFFmpeg(t, master)
	seg := segment(master)
	noToken := strings.Replace(seg, "/"+tok+"/", "/", 1)
	for _, tc := range []struct {
		name string
		url  string
		from string
		want int
	}{
		{"segment", seg, "127.0.0.1", 200},
		{"no token", noToken, "127.0.0.1", 401},
		{"tampered signature", strings.Replace(seg, tok, tok[:len(tok)-2]+flip(tok[len(tok)-2:]), 1), "127.0.0.1", 401},
		{"another title", strings.Replace(seg, "/vod/m1/", "/vod/m2/", 1), "127.0.0.1", 401},
		{"another viewer's address", seg, "127.0.0.2", 401},
	} {
		if got := statusOf(t, clientFrom(tc.from), tc.url); got != tc.want {
			t.Errorf("%s: %s: %d, want %d", proxy, tc.name, got, tc.want)
		}
	}
	refusalSaysNoMore(t, clientFrom("127.0.0.1"), noToken)
	for _, path := range p.rec.all() {
		if strings.Contains(path, tok) || strings.Contains(path, "eyJ") || !strings.HasPrefix(path, "/vod/m1/") {
			t.Errorf("%s: the origin was asked %q", proxy, path)
		}
	}
	delays := revocationDelays(t, revocations, func() (string, string) { u, s := p.playback("m1"); return segment(u), s },
		func(s string) {
			if _, err := p.api.Revoke(p.ctx, s, "test", time.Hour); err != nil {
				t.Fatal(err)
			}
		}, clientFrom("127.0.0.1"))
	t.Logf("revocation to refusal at %s: %v", proxy, delays)
	if med := delays[len(delays)/2]; med > 100*time.Millisecond {
		t.Errorf("median revocation delay at %s %v, target 100 ms", proxy, med)
	}
	return master
}

// authServe is smd serve in auth mode (embedded NATS, the API on its
// listener, the auth answers on the rest) for a proxy on loopback, in
// front of the sample origin, whose requests are recorded.
type authServe struct {
	n          *Node
	api        *client.Client
	rec        *pathRecorder
	originAddr string
}

func startAuthServe(t *testing.T) authServe {
	t.Helper()
	o, err := origin.New(origin.Config{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &pathRecorder{next: o}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	cfg := serveConfig(t, true, srv.URL)
	cfg.Mode = config.EdgeAuth
	cfg.Routes = nil // auth mode's default: "/" enforced
	cfg.TrustedProxies = []string{"127.0.0.1/32"}
	n := startServe(t, cfg)
	return authServe{n: n, api: adminClient(t, cfg.DataDir, "http://"+n.Edge.Addr), rec: rec, originAddr: strings.TrimPrefix(srv.URL, "http://")}
}
