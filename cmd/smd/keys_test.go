package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control/controltest"
)

// apiEnv is a control-plane API on loopback and key files for the CLI.
type apiEnv struct {
	*controltest.Env
	adminFile, readerFile, issuerFile string
}

func startAPI(t *testing.T) *apiEnv {
	t.Helper()
	e := &apiEnv{Env: controltest.Start(t, controltest.Options{})}
	dir := t.TempDir()
	for _, f := range []struct {
		dst *string
		tok string
	}{{&e.adminFile, e.Admin}, {&e.readerFile, e.Reader}, {&e.issuerFile, e.Issuer}} {
		*f.dst = filepath.Join(dir, strings.Split(f.tok, "_")[1])
		if err := os.WriteFile(*f.dst, []byte(f.tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// as returns the API flags for a key file, followed by args.
func (e *apiEnv) as(keyFile string, args ...string) []string {
	return append(args, "--api", e.URL, "--api-key-file", keyFile)
}

// runEnv runs smd with extra environment variables.
func runEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, smdBin, args...)
	cmd.Env = append(os.Environ(), env...)
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

// mustFail runs smd and expects exit 2 with one line on stderr holding want.
func mustFail(t *testing.T, stdin, want string, args ...string) {
	t.Helper()
	r := smd(t, stdin, args...)
	if r.code != exitBadInput || r.stdout != "" || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("smd %q: exit %d\nstdout: %s\nstderr: %s\nwant exit 2 and %q", args, r.code, r.stdout, r.stderr, want)
	}
}

func TestKeysCommands(t *testing.T) {
	e := startAPI(t)
	out := mustSucceed(t, "", e.as(e.readerFile, "keys", "list")...)
	if !strings.Contains(out, controltest.KID) || !strings.Contains(out, "primary") || strings.Contains(out, controltest.Secret) {
		t.Errorf("keys list:\n%s", out)
	}
	mustFail(t, "", "lacks the admin scope (403 scope_missing)", e.as(e.readerFile, "keys", "list", "--show-secrets")...)
	out = mustSucceed(t, "", e.as(e.adminFile, "keys", "list", "--show-secrets")...)
	if !strings.Contains(out, controltest.Secret) {
		t.Errorf("keys list --show-secrets:\n%s", out)
	}
	var keys []map[string]any
	if err := json.Unmarshal([]byte(mustSucceed(t, "", e.as(e.adminFile, "keys", "list", "--json")...)), &keys); err != nil || len(keys) != 1 || keys[0]["secret"] != nil {
		t.Errorf("keys list --json: %v %v", keys, err)
	}

	out = mustSucceed(t, "", e.as(e.adminFile, "keys", "rotate")...)
	if !strings.Contains(out, "rotation requested: next key next1") || e.Keys.Rotations() != 1 {
		t.Errorf("keys rotate: %s", out)
	}
	mustFail(t, "", "403 scope_missing", e.as(e.readerFile, "keys", "rotate")...)

	secret := strings.Repeat("c", 128)
	export := `{"primary":{"uuid":"kid9","value":"` + secret + `"}}`
	out = mustSucceed(t, export, e.as(e.adminFile, "keys", "import", "-")...)
	if !strings.Contains(out, "kid9") || strings.Contains(out, secret) {
		t.Errorf("keys import: %s", out)
	}
	r := smd(t, `{"primary":{"uuid":"kid9","value":"short-secret"}}`, e.as(e.adminFile, "keys", "import", "-")...)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "invalid_import") || strings.Contains(r.stderr, "short-secret") {
		t.Errorf("bad import: %d %s", r.code, r.stderr)
	}
}

func TestAPIConnectionErrors(t *testing.T) {
	e := startAPI(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// No key anywhere (the environment of the test may not hold one).
	r := runEnv(t, []string{"SMD_API_KEY=", "SMD_API_KEY_FILE="}, "keys", "list", "--api", e.URL)
	if r.code != exitBadInput || !strings.Contains(r.stderr, "no API key") {
		t.Errorf("no key: %d %s", r.code, r.stderr)
	}
	mustFail(t, "", "want one line", "keys", "list", "--api", e.URL, "--api-key-file", empty)
	mustFail(t, "", "API key file", "keys", "list", "--api", e.URL, "--api-key-file", filepath.Join(dir, "none"))
	mustFail(t, "", `API URL "ftp://x"`, "keys", "list", "--api", "ftp://x", "--api-key-file", e.adminFile)
	mustFail(t, "", "401 api_key_invalid", "keys", "list", "--api", e.URL, "--api-key-file", e.Env.KeyFile)
	// Nothing listens there.
	mustFail(t, "", "connection refused", "keys", "list", "--api", "http://127.0.0.1:1", "--api-key-file", e.adminFile)
	// The key from the environment.
	r = runEnv(t, []string{"SMD_API_KEY=" + e.Reader, "SMD_API_URL=" + e.URL, "SMD_API_KEY_FILE="}, "keys", "list")
	if r.code != 0 || !strings.Contains(r.stdout, controltest.KID) {
		t.Errorf("key from SMD_API_KEY: %d %s %s", r.code, r.stdout, r.stderr)
	}
	// No error message shows the key.
	r = smd(t, "", e.as(e.readerFile, "keys", "rotate")...)
	if strings.Contains(r.stderr, e.Reader[len(e.Reader)-64:]) {
		t.Error("error shows the API key")
	}
}
