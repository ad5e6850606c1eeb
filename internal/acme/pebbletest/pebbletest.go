// Package pebbletest runs a real ACME server for tests: Let's Encrypt's
// pebble, with pebble-challtestsrv as its DNS server (every name resolves
// to 127.0.0.1), built from the Go module proxy once per machine into the
// user's cache directory (scripts/test.sh builds them before the tests).
// For tests only.
package pebbletest

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/certs/certstest"
)

// Version is the pebble the tests run; scripts/test.sh builds the same one.
const Version = "v2.10.3"

// binaries builds pebble and pebble-challtestsrv once per machine and
// returns their directory.
func binaries(t testing.TB) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "smd-test", "pebble-"+Version)
	if _, err := os.Stat(filepath.Join(dir, "pebble-challtestsrv")); err == nil {
		return dir
	}
	cmd := exec.Command("go", "install", "github.com/letsencrypt/pebble/v2/cmd/pebble@"+Version,
		"github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@"+Version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building pebble %s from the Go module proxy: %v\n%s", Version, err, out)
	}
	return dir
}

// CA is a running pebble.
type CA struct {
	// Directory is the ACME directory URL.
	Directory string
	// RootFile holds the certificate of pebble's own HTTPS listener (the
	// ACME API), for the client to trust.
	RootFile string
	// Management is pebble's management API (its issuing roots at
	// /roots/0).
	Management string
}

// Start runs pebble validating HTTP-01 on httpPort and TLS-ALPN-01 on
// tlsPort of 127.0.0.1, issuing certificates valid for validity, until
// the test ends.
func Start(t testing.TB, httpPort, tlsPort int, validity time.Duration) *CA {
	t.Helper()
	bin := binaries(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "api.pem"), filepath.Join(dir, "api.key")
	certstest.Write(t, certFile, keyFile, 7)
	dns, api, mgmt := freePort(t), freePort(t), freePort(t)
	conf := map[string]any{"pebble": map[string]any{
		"listenAddress":                  "127.0.0.1:" + strconv.Itoa(api),
		"managementListenAddress":        "127.0.0.1:" + strconv.Itoa(mgmt),
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm":                   "ecdsa",
		"profiles": map[string]any{"default": map[string]any{
			"description": "smd tests", "validityPeriod": int(validity.Seconds()),
		}},
	}}
	b, _ := json.Marshal(conf)
	confFile := filepath.Join(dir, "pebble.json")
	if err := os.WriteFile(confFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "127.0.0.1:"+strconv.Itoa(dns), nil, filepath.Join(bin, "pebble-challtestsrv"),
		"-dnsserver", "127.0.0.1:"+strconv.Itoa(dns), "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "", "-management", "127.0.0.1:"+strconv.Itoa(freePort(t)))
	run(t, dir, "127.0.0.1:"+strconv.Itoa(api), []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"},
		filepath.Join(bin, "pebble"), "-config", confFile, "-dnsserver", "127.0.0.1:"+strconv.Itoa(dns))
	return &CA{
		Directory:  fmt.Sprintf("https://127.0.0.1:%d/dir", api),
		RootFile:   certFile,
		Management: fmt.Sprintf("https://127.0.0.1:%d", mgmt),
	}
}

// run starts a program until the test ends and waits until addr answers
// (TCP; the DNS server also listens on TCP).
func run(t testing.TB, dir, addr string, env []string, name string, args ...string) {
	t.Helper()
	logFile := filepath.Join(dir, filepath.Base(name)+".log")
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			b, _ := os.ReadFile(logFile)
			t.Logf("%s's log:\n%s", filepath.Base(name), b)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			b, _ := os.ReadFile(logFile)
			t.Fatalf("%s exited at start:\n%s", filepath.Base(name), b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s", filepath.Base(name), addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
