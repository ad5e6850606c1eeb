package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// These tests build the binary once and run it as a user would.

// smdBin is the binary built by TestMain.
var smdBin string

// testVersion is set with -ldflags, as releases do.
const testVersion = "v0.0.0-test"

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "smd-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	smdBin = filepath.Join(dir, "smd")
	gotool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "go tool not found:", err)
		return 1
	}
	build := exec.Command(gotool, "build", "-buildvcs=false", "-ldflags", "-X main.version="+testVersion, "-o", smdBin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// result is what one run of smd gave.
type result struct {
	stdout, stderr string
	code           int
}

// smd runs the binary with args and optional standard input.
func smd(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, smdBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("smd %q: %v", args, err)
	}
	return r
}

// mustSucceed runs smd and expects exit 0 and nothing on stderr.
func mustSucceed(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := smd(t, stdin, args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("smd %q: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// writeFile writes a file in a test's temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVersionAndHelp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"version", []string{"version"}, []string{"smd " + testVersion + " (", runtime.Version()}},
		{"--version", []string{"--version"}, []string{"smd " + testVersion, runtime.Version()}},
		{"--help", []string{"--help"}, []string{"Usage:", "token", "version", "Exit codes"}},
		{"no arguments", nil, []string{"Available Commands:", "token", "version"}},
		{"token --help", []string{"token", "--help"}, []string{"sign", "inspect", "verify"}},
		{"sign --help", []string{"token", "sign", "--help"}, []string{"--keys FILE", "--bind-header NAME", "--exp TIME", "-H, --header"}},
		{"inspect --help", []string{"token", "inspect", "--help"}, []string{"NOT", "--json"}},
		{"verify --help", []string{"token", "verify", "--help"}, []string{"--viewer-ip IP", "--clock-skew DURATION", "ALLOW", "DENY"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := mustSucceed(t, "", tc.args...)
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
