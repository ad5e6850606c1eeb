// Package s3test runs a real S3-compatible server for tests: Versity's S3
// gateway (versitygw) with its posix backend, built from the Go module
// proxy once per machine into the user's cache directory (scripts/test.sh
// builds it before the tests). For tests only.
package s3test

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Version is the versitygw the tests run; scripts/test.sh builds the same
// one before the tests, so that no test waits for the build.
const Version = "v1.8.0"

// The credentials and the bucket of the test server.
const (
	AccessKey = "smdtestaccess"
	SecretKey = "smdtestsecret0123456789"
	Bucket    = "smd-logs"
)

// versitygw builds the gateway once per machine (into the user's cache
// directory) and returns its path.
func versitygw(t testing.TB) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "smd-test", "versitygw-"+Version)
	bin := filepath.Join(dir, "versitygw")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", "github.com/versity/versitygw/cmd/versitygw@"+Version)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-buildvcs=false", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building versitygw %s from the Go module proxy: %v\n%s", Version, err, out)
	}
	return bin
}

// Server is a running versitygw on loopback, with the bucket Bucket.
type Server struct {
	// Addr is its host:port (plain HTTP).
	Addr string

	t    testing.TB
	bin  string
	root string
	cmd  *exec.Cmd
}

// Start builds (once per machine) and starts a versitygw with its posix
// backend in a temporary directory, creates Bucket, and stops it when
// the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, bin: versitygw(t), root: t.TempDir(), Addr: ln.Addr().String()}
	ln.Close()
	s.Restart()
	t.Cleanup(s.Stop)
	c := s.Client()
	if err := c.MakeBucket(context.Background(), Bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket: %v", err)
	}
	return s
}

// Restart starts the server (again, after Stop) on the same address
// and directory.
func (s *Server) Restart() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "--port", s.Addr, "--access", AccessKey, "--secret", SecretKey, "posix", s.root)
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, io.Discard
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.Dial("tcp", s.Addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatal("versitygw did not listen")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop kills the server.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Client is a client of the server with the test credentials.
func (s *Server) Client() *minio.Client {
	c, err := minio.New(s.Addr, &minio.Options{Creds: credentials.NewStaticV4(AccessKey, SecretKey, "")})
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// Objects returns the bucket's keys and contents.
func (s *Server) Objects() map[string][]byte {
	s.t.Helper()
	c := s.Client()
	out := map[string][]byte{}
	for o := range c.ListObjects(context.Background(), Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			s.t.Fatal(o.Err)
		}
		r, err := c.GetObject(context.Background(), Bucket, o.Key, minio.GetObjectOptions{})
		if err != nil {
			s.t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			s.t.Fatal(err)
		}
		out[o.Key] = b
	}
	return out
}
