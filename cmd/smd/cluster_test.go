package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control/apikey"
	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/natsstore/natstest"
	"github.com/smd-media/smd/internal/origin"
	"github.com/smd-media/smd/internal/seal"
)

// proc is a long-running smd process whose log the test reads.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  strings.Builder
	done chan struct{}
}

// startProc runs smd with args until the test ends (or kill), and waits
// for a log line matching ready, returning its first submatch.
func startProc(t *testing.T, ready string, args ...string) (*proc, string) {
	t.Helper()
	p := &proc{cmd: exec.Command(smdBin, args...), done: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill(syscall.SIGTERM) })
	re := regexp.MustCompile(ready)
	found := make(chan string, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := re.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		p.cmd.Wait()
	}()
	select {
	case v := <-found:
		return p, v
	case <-p.done:
		t.Fatalf("smd %s exited before it was ready:\n%s", args[0], p.logText())
	case <-time.After(60 * time.Second):
		t.Fatalf("smd %s not ready after 60s:\n%s", args[0], p.logText())
	}
	return nil, ""
}

func (p *proc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// kill sends sig and waits for the process to end.
func (p *proc) kill(sig syscall.Signal) {
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func writeTestFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestClusterProcesses runs smd as an operator would on a cluster: a
// 3-node NATS cluster (replicas 3), `smd control` and two `smd edge --nats`
// as separate OS processes. One NATS node stops during a key rotation and
// a revocation; then the control plane is killed and another takes over;
// then NATS goes away entirely and an edge restarted from its snapshots
// still serves and still refuses the revoked session.
func TestClusterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test")
	}
	nats := natstest.StartCluster(t, 3)
	urls := strings.Join(nats.URLs(), ",")
	o, err := origin.New(origin.Config{})
	if err != nil {
		t.Fatal(err)
	}
	originSrv := httptest.NewServer(o)
	t.Cleanup(originSrv.Close)

	dir := t.TempDir()
	_, mk, err := seal.Generate()
	if err != nil {
		t.Fatal(err)
	}
	mkFile := writeTestFile(t, filepath.Join(dir, "master.key"), string(mk))
	controlDir := filepath.Join(dir, "control")
	if err := os.MkdirAll(controlDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := apikey.Bootstrap(filepath.Join(controlDir, "api-keys.json")); err != nil {
		t.Fatal(err)
	}
	controlCfg := writeTestFile(t, filepath.Join(dir, "control.yaml"), fmt.Sprintf(`
master_key_file: %s
nats: {replicas: 3}
admin: {listen: "127.0.0.1:0"}
control:
  playback_scheme: http
  trusted_proxies: [127.0.0.1/32]
  rotation_grace: 1m
`, mkFile))
	startControl := func() (*proc, string) {
		p, api := startProc(t, `msg="smd running".* api=(\S+)`, "control", "--config", controlCfg,
			"--nats", urls, "--data-dir", controlDir, "--api-listen", "127.0.0.1:0")
		return p, "http://" + api
	}
	control1, api := startControl()
	adminTok, err := os.ReadFile(filepath.Join(controlDir, "api-keys.admin"))
	if err != nil {
		t.Fatal(err)
	}
	newClient := func(base string) *client.Client {
		c, err := client.New(base, strings.TrimSpace(string(adminTok)))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := newClient(api)
	ctx := context.Background()

	startEdge := func(i int) (*proc, string) {
		cfg := writeTestFile(t, filepath.Join(dir, fmt.Sprintf("edge-%d.yaml", i)), fmt.Sprintf(`
id: edge-%d
master_key_file: %s
nats: {replicas: 3, heartbeat: 500ms}
routes: [{prefix: /, origin: %q}]
`, i, mkFile, originSrv.URL))
		p, addr := startProc(t, `msg="edge started".* http=(\S+)`, "edge", "--config", cfg, "--nats", urls,
			"--data-dir", filepath.Join(dir, fmt.Sprintf("edge-%d", i)), "--listen", "127.0.0.1:0", "--admin-listen", "")
		return p, addr
	}
	edge0, addr0 := startEdge(0)
	_, addr1 := startEdge(1)

	if _, err := c.CreateAsset(ctx, []byte(`{"id": "m1", "url_path": "/vod/m1/master.m3u8",
		"endpoint_hostname": "cdn.example.com", "token_policy": {"ssn": true, "paths": ["/vod/m1/"], "exp": "+2h"}}`)); err != nil {
		t.Fatal(err)
	}
	play := func(tok client.Token, addr string) string {
		return strings.Replace(tok.PlaybackURL, "http://cdn.example.com", "http://"+addr, 1)
	}
	keep, err := c.Token(ctx, "m1", nil)
	if err != nil {
		t.Fatal(err)
	}
	gone, err := c.Token(ctx, "m1", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{addr0, addr1} {
		eventually(t, "the edge to serve a token of the control plane", func() bool { return httpStatus(t, play(keep, addr)) == 200 })
	}
	eventually(t, "both edges' heartbeats", func() bool {
		hs, err := c.Edges(ctx)
		return err == nil && len(hs) == 2
	})
	primary := func(c *client.Client) string {
		keys, err := c.ListKeys(ctx, false)
		if err != nil {
			return ""
		}
		for _, k := range keys {
			if k.State == "primary" {
				return k.ID
			}
		}
		return ""
	}
	old := primary(c)

	// A NATS node stops during a rotation and a revocation.
	if _, err := c.RotateKeys(ctx); err != nil {
		t.Fatal(err)
	}
	nats.Stop(1)
	eventually(t, "the revocation to be accepted with a NATS node down", func() bool {
		_, err := c.Revoke(ctx, gone.SessionID, "cluster test", time.Hour)
		return err == nil
	})
	for _, addr := range []string{addr0, addr1} {
		eventually(t, "every edge to refuse the revoked session", func() bool { return httpStatus(t, play(gone, addr)) == 403 })
	}
	eventually(t, "the rotation to complete", func() bool { p := primary(c); return p != "" && p != old })
	now := primary(c)
	hs, err := c.Edges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if !slices.Contains(h.KeyIDs, now) {
			t.Errorf("edge %s lacks the new primary %s: %v", h.EdgeID, now, h.KeyIDs)
		}
	}
	fresh, err := c.Token(ctx, "m1", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{addr0, addr1} {
		for name, tok := range map[string]client.Token{"old key's token": keep, "new key's token": fresh} {
			if code := httpStatus(t, play(tok, addr)); code != 200 {
				t.Fatalf("%s on %s after the rotation: %d", name, addr, code)
			}
		}
	}
	nats.Restart(1)

	// The control plane dies; another process takes over from NATS.
	// It is killed without a chance to release its lease or clean up.
	control1.kill(syscall.SIGKILL)
	_, api2 := startControl()
	c2 := newClient(api2)
	if p := primary(c2); p != now {
		t.Fatalf("the second control plane sees primary %q, want %q", p, now)
	}
	if r, err := c2.Revocation(ctx, gone.SessionID); err != nil || r.Type != "manual" {
		t.Fatalf("the second control plane lost the revocation: %+v %v", r, err)
	}

	// NATS goes away entirely: the edges keep serving what they hold, and
	// an edge restarted now starts from its snapshots.
	nats.Shutdown()
	edge0.kill(syscall.SIGTERM)
	_, addr0 = startEdge(0)
	for _, addr := range []string{addr0, addr1} {
		eventually(t, "an edge without NATS to serve the valid session", func() bool { return httpStatus(t, play(fresh, addr)) == 200 })
		if code := httpStatus(t, play(gone, addr)); code != 403 {
			t.Fatalf("edge %s without NATS: revoked session answered %d", addr, code)
		}
	}
}
