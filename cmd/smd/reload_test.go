package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestEdgeReloadOnSIGHUP: smd edge re-reads its configuration on SIGHUP,
// applies the routes and status overrides while it serves, names the
// changed keys that need a restart (and keeps them), and keeps the running
// configuration when the new one does not validate.
func TestEdgeReloadOnSIGHUP(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "media") }))
	defer origin.Close()
	dir := t.TempDir()
	keys := writeTestFile(t, filepath.Join(dir, "keys.json"), `{"k1": "`+strings.Repeat("ab", 32)+`"}`)
	cfgFile := filepath.Join(dir, "edge.yaml")
	write := func(extra string) {
		writeTestFile(t, cfgFile, fmt.Sprintf("id: reload-1\nlisten: 127.0.0.1:0\nadmin: {listen: \"\"}\nkeys_file: %s\nroutes:\n  - {prefix: /vod/, origin: %q}\n%s", keys, origin.URL, extra))
	}
	write("")
	p, addr := startProc(t, `"edge started".* http=(127\.0\.0\.1:\d+)`, "edge", "--config", cfgFile, "--log-level", "info")
	base := "http://" + addr
	if c := httpStatus(t, base+"/public/a.jpg"); c != 404 {
		t.Fatalf("before the reload, an unrouted path: %d", c)
	}
	if c := httpStatus(t, base+"/vod/a.ts"); c != 401 {
		t.Fatalf("before the reload, no token: %d", c)
	}

	// A new route, a status override, and a key that needs a restart.
	write(fmt.Sprintf("  - {prefix: /public/, origin: %q, mode: \"off\"}\nstatus: {missing: 403}\ncache: {max_bytes: 1MiB, max_object_bytes: 512KiB}\n", origin.URL))
	p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, "the new route", func() bool { return httpStatus(t, base+"/public/a.jpg") == 200 })
	if c := httpStatus(t, base+"/vod/a.ts"); c != 403 {
		t.Errorf("after the reload, no token: %d, want the new status 403", c)
	}
	eventually(t, "the reload's log line", func() bool { return strings.Contains(p.logText(), "need a restart") })
	if log := p.logText(); !strings.Contains(log, "keys=cache") {
		t.Errorf("the log does not name the key that needs a restart:\n%s", log)
	}

	// A configuration that does not validate changes nothing.
	writeTestFile(t, cfgFile, "id: reload-1\nlisten: 127.0.0.1:0\nroutes: [{prefix: vod, origin: ftp://x}]\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, "the failed reload's log line", func() bool { return strings.Contains(p.logText(), "configuration reload failed") })
	if c := httpStatus(t, base+"/public/a.jpg"); c != 200 {
		t.Errorf("after a failed reload: %d, want the running configuration", c)
	}
}

// TestServeReloadOnSIGHUP: smd serve applies its edge's reloadable keys on
// SIGHUP and names the control plane's changed keys as needing a restart.
func TestServeReloadOnSIGHUP(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "media") }))
	defer origin.Close()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "serve.yaml")
	write := func(extra string) {
		writeTestFile(t, cfgFile, fmt.Sprintf("id: serve-reload\nlisten: 127.0.0.1:0\nadmin: {listen: \"\"}\ndata_dir: %s\nroutes:\n  - {prefix: /vod/, origin: %q}\n%s",
			filepath.Join(dir, "data"), origin.URL, extra))
	}
	write("")
	p, addr := startProc(t, `"smd running" edge=(127\.0\.0\.1:\d+)`, "serve", "--config", cfgFile, "--log-level", "info")
	base := "http://" + addr
	if c := httpStatus(t, base+"/public/a.jpg"); c != 404 {
		t.Fatalf("before the reload, an unrouted path: %d", c)
	}
	write(fmt.Sprintf("  - {prefix: /public/, origin: %q, mode: \"off\"}\ncontrol: {playback_scheme: http}\n", origin.URL))
	p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, "the new route", func() bool { return httpStatus(t, base+"/public/a.jpg") == 200 })
	eventually(t, "the reload's log line", func() bool { return strings.Contains(p.logText(), "need a restart") })
	if log := p.logText(); !strings.Contains(log, "keys=control") {
		t.Errorf("the log does not name the control plane's key:\n%s", log)
	}
}
