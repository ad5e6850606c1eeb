package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadEdge: any file is loaded or refused with an error, never a
// panic, and what loads validates without a panic.
func FuzzLoadEdge(f *testing.F) {
	for _, s := range []string{
		"listen: 127.0.0.1:8080\nroutes:\n  - prefix: /vod/\n    origin: http://127.0.0.1:9000\n",
		"server:\n  max_connections: 10\n  engine: net/http\norigin:\n  min_rate: 1KiB\n  fetch_timeout: 5m\n",
		"status: {expired: 410}\ncache:\n  max_bytes: 1GiB\n",
		"a: &x [*x]\n", "--- \n---\n", "listen: [1, {2: 3}]\n", "cache: {max_bytes: -1}\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "edge.yaml")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadEdge(path, func(string) (string, bool) { return "", false })
		if err != nil {
			if c != nil {
				t.Fatal("an error and a config")
			}
			return
		}
		_ = c.Validate()
	})
}

// FuzzLoadServe is FuzzLoadEdge for smd serve's file.
func FuzzLoadServe(f *testing.F) {
	for _, s := range []string{
		"listen: 127.0.0.1:8080\ncontrol:\n  listen: 127.0.0.1:8081\ndetector:\n  threshold: 1\n",
		"nats:\n  urls: [nats://127.0.0.1:4222]\n", "edge: {server: {max_connections: 3}}\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "serve.yaml")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadServe(path, true, func(string) (string, bool) { return "", false })
		if err != nil {
			return
		}
		_ = c.Validate()
	})
}
