package node

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/accessupload/s3test"
)

// TestExportUpload: smd serve with control.export.s3 uploads the hourly
// files its exporter closes to a real S3-compatible server (versitygw)
// under the same dt=/hour= names, the files closed as it stops included,
// byte for byte; the credentials come from files.
func TestExportUpload(t *testing.T) {
	s3 := s3test.Start(t)
	dir := t.TempDir()
	cfg := serveConfig(t, true, sampleOrigin(t))
	cfg.Control.Export.Dir = filepath.Join(dir, "export")
	ak, sk := filepath.Join(dir, "ak"), filepath.Join(dir, "sk")
	os.WriteFile(ak, []byte(s3test.AccessKey+"\n"), 0o600)
	os.WriteFile(sk, []byte(s3test.SecretKey+"\n"), 0o600)
	s := &cfg.Control.Export.S3
	s.Endpoint, s.Bucket, s.Prefix, s.Insecure = s3.Addr, s3test.Bucket, "smd/access/", true
	s.AccessKeyFile, s.SecretKeyFile = ak, sk
	n := startServe(t, cfg)
	const events = 20
	for i := range events {
		n.AccessPublisher().Log(&accesslog.Event{Time: time.Now().UTC().Add(-time.Duration(i) * time.Second), EdgeID: "e1",
			RequestPrefix: "u-", RequestSeq: uint64(i + 1), SessionID: "up1", Verdict: accesslog.VerdictAllow, Status: 200,
			Addr: netip.MustParseAddr("192.0.2.7"), Method: "GET", OriginPath: "/vod/m1/seg-1-1.m4s", BytesSent: 1000})
	}
	waitFor(t, "the exporter's events", func() bool { return n.AccessExporter().Read() >= events })
	// Stopping closes the hour's file early; the uploader's last pass
	// takes it.
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(cfg.Control.Export.Dir, "dt=*", "hour=*", "*.json.gz"))
	if len(files) == 0 {
		t.Fatal("no export file")
	}
	objects := s3.Objects()
	for _, f := range files {
		rel, _ := filepath.Rel(cfg.Control.Export.Dir, f)
		want, _ := os.ReadFile(f)
		got, ok := objects["smd/access/"+filepath.ToSlash(rel)]
		if !ok || !bytes.Equal(got, want) {
			t.Errorf("%s: uploaded %v, same bytes %v (objects %d)", rel, ok, bytes.Equal(got, want), len(objects))
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(f), "."+filepath.Base(f)+".uploaded")); err != nil {
			t.Errorf("%s: no upload record", rel)
		}
	}
	for k := range objects {
		if !strings.HasPrefix(k, "smd/access/dt=") || !strings.HasSuffix(k, ".json.gz") {
			t.Errorf("unexpected object %s", k)
		}
	}
}
