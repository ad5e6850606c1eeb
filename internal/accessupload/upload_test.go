package accessupload

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/accessupload/s3test"
)

// exportFile writes a closed export file (gzip JSON lines) and returns
// its bytes.
func exportFile(t *testing.T, dir, rel string, lines ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	for _, l := range lines {
		io.WriteString(zw, l+"\n")
	}
	zw.Close()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestUpload: closed files go up under the prefix with their dt=/hour=
// names and bytes, temporary and foreign files do not; a second pass and
// a new uploader (a restart) upload nothing again; a file added later
// goes at the next pass; with the server away the files stay pending and
// the errors are counted, and they go once it is back.
func TestUpload(t *testing.T) {
	s := s3test.Start(t)
	dir := t.TempDir()
	a := exportFile(t, dir, "dt=2026-12-07/hour=10/cp1-100.json.gz", `{"time":"2026-12-07T10:00:01Z","session_id":"s1"}`)
	b := exportFile(t, dir, "dt=2026-12-07/hour=11/cp1-250.json.gz", `{"time":"2026-12-07T11:00:01Z","session_id":"s2"}`)
	exportFile(t, dir, "dt=2026-12-07/hour=11/.cp1-300.json.gz.tmp", "half written")
	exportFile(t, dir, "notes.txt", "not an export")
	cfg := Config{Dir: dir, Endpoint: s.Addr, Insecure: true, Bucket: s3test.Bucket, Prefix: "smd/access/", AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}
	u, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if n, err := u.Pass(ctx); n != 2 || err != nil {
		t.Fatalf("first pass: %d, %v", n, err)
	}
	got := s.Objects()
	if k := keys(got); strings.Join(k, " ") != "smd/access/dt=2026-12-07/hour=10/cp1-100.json.gz smd/access/dt=2026-12-07/hour=11/cp1-250.json.gz" {
		t.Fatalf("objects %v", k)
	}
	if !bytes.Equal(got["smd/access/dt=2026-12-07/hour=10/cp1-100.json.gz"], a) || !bytes.Equal(got["smd/access/dt=2026-12-07/hour=11/cp1-250.json.gz"], b) {
		t.Error("an object's bytes differ from its file's")
	}
	if n, _ := u.Pass(ctx); n != 0 || u.Uploaded() != 2 || u.Pending() != 0 {
		t.Errorf("second pass uploaded %d (total %d, pending %d)", n, u.Uploaded(), u.Pending())
	}
	again, _ := New(cfg)
	if n, err := again.Pass(ctx); n != 0 || err != nil {
		t.Errorf("after a restart: %d uploaded, %v", n, err)
	}
	// A file closed later, while the server is away: pending, counted.
	exportFile(t, dir, "dt=2026-12-07/hour=12/cp1-400.json.gz", `{"session_id":"s3"}`)
	s.Stop()
	if n, err := again.Pass(ctx); n != 0 || err == nil || again.Failures() != 1 || again.Pending() != 1 {
		t.Errorf("server away: %d uploaded, %v, %d failures, %d pending", n, err, again.Failures(), again.Pending())
	}
	s.Restart()
	if n, err := again.Pass(ctx); n != 1 || err != nil || again.Pending() != 0 {
		t.Errorf("server back: %d uploaded, %v", n, err)
	}
	if got := s.Objects(); len(got) != 3 {
		t.Errorf("objects %v", keys(got))
	}
}

// TestUploadDelete: with DeleteAfterUpload the local files go once
// uploaded; Run's last pass on stop uploads what is left.
func TestUploadDelete(t *testing.T) {
	s := s3test.Start(t)
	dir := t.TempDir()
	exportFile(t, dir, "dt=2026-12-07/hour=10/cp1-1.json.gz", `{"session_id":"s1"}`)
	u, err := New(Config{Dir: dir, Endpoint: s.Addr, Insecure: true, Bucket: s3test.Bucket, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey,
		DeleteAfterUpload: true, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- u.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for u.Uploaded() < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	exportFile(t, dir, "dt=2026-12-07/hour=11/cp1-2.json.gz", `{"session_id":"s2"}`) // closed as smd stops
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := s.Objects(); len(got) != 2 {
		t.Errorf("objects %v", keys(got))
	}
	left, _ := filepath.Glob(filepath.Join(dir, "dt=*", "hour=*", "*"))
	if len(left) != 0 {
		t.Errorf("local files left: %v", left)
	}
}

// TestNewErrors: the settings it needs are named.
func TestNewErrors(t *testing.T) {
	for _, c := range []Config{{}, {Dir: "d", Endpoint: "e"}, {Dir: "d", Endpoint: "e", Bucket: "b"}, {Dir: "d", Endpoint: "bad host", Bucket: "b", AccessKey: "a", SecretKey: "s"}} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
