// Package accessupload copies the hourly export files (package
// accessexport) to S3-compatible object storage, as SMDE's logs go to S3,
// under the same names: <prefix>dt=YYYY-MM-DD/hour=HH/<node>-<seq>.json.gz.
//
// It uploads only closed files (the exporter renames a file into place
// once complete; temporary names start with a dot), each with its MD5 for
// the server to check, and records each upload beside the file in a
// hidden marker (.<name>.uploaded), the checkpoint: after a restart the
// marked files are skipped, and a file uploaded but not yet marked (a
// crash in between) is uploaded again under the same name, which replaces
// the object with the same bytes: nothing is lost, nothing doubled.
// Failed uploads are retried at the next pass, with the errors logged and
// counted. With DeleteAfterUpload the local file is removed instead of
// marked.
//
// It imports only minio-go (the S3 client) besides the standard library.
package accessupload

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Config configures an Uploader.
type Config struct {
	// Dir is the export directory (control.export.dir).
	Dir string
	// Endpoint is the S3 server, host[:port] ("s3.eu-west-1.amazonaws.com",
	// "127.0.0.1:7070").
	Endpoint string
	// Insecure talks plain HTTP to Endpoint (a local test server).
	Insecure bool
	// Region is the bucket's region (optional for most servers).
	Region string
	// Bucket receives the files; it must exist.
	Bucket string
	// Prefix is put before each file's path under Dir ("smd/access/").
	Prefix string
	// AccessKey and SecretKey sign the requests.
	AccessKey, SecretKey string
	// Interval is the time between passes (default 15s).
	Interval time.Duration
	// DeleteAfterUpload removes each local file once uploaded.
	DeleteAfterUpload bool
	// After, when set, is awaited (30 s at most) before the last pass when
	// Run stops: the exporter's end, so that the files it closes as smd
	// stops go up too.
	After <-chan struct{}
	// Log receives errors; none when nil.
	Log *slog.Logger
}

// uploadTimeout bounds the upload of one file (an hour's events, a few
// to a few hundred megabytes).
const uploadTimeout = 10 * time.Minute

// Uploader copies closed export files to a bucket.
type Uploader struct {
	cfg    Config
	client *minio.Client

	uploaded, failures, bytes, pending atomic.Int64
}

// New checks cfg and builds the S3 client (no request is made yet).
func New(cfg Config) (*Uploader, error) {
	if cfg.Dir == "" || cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("accessupload: Dir, Endpoint and Bucket are required")
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("accessupload: no credentials (access and secret key)")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 15 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: !cfg.Insecure,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("accessupload: %w", err)
	}
	return &Uploader{cfg: cfg, client: c}, nil
}

// Uploaded counts the files uploaded by this process.
func (u *Uploader) Uploaded() int64 { return u.uploaded.Load() }

// Failures counts the uploads that failed (each is retried).
func (u *Uploader) Failures() int64 { return u.failures.Load() }

// Bytes counts the bytes uploaded.
func (u *Uploader) Bytes() int64 { return u.bytes.Load() }

// Pending is the number of closed files not uploaded at the last pass.
func (u *Uploader) Pending() int64 { return u.pending.Load() }

// Run makes a pass every Interval until ctx ends, then a last one (after
// After, 30 s at most in all), so that the files the exporter closes when
// smd stops go too.
func (u *Uploader) Run(ctx context.Context) error {
	t := time.NewTicker(u.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := u.Pass(ctx); err != nil && ctx.Err() == nil {
			u.cfg.Log.Warn("export upload: a pass failed; retrying at the next", "err", err)
		}
		select {
		case <-ctx.Done():
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if u.cfg.After != nil {
				select {
				case <-u.cfg.After:
				case <-lctx.Done():
				}
			}
			if _, err := u.Pass(lctx); err != nil {
				u.cfg.Log.Warn("export upload: the last pass failed; the files are uploaded at the next start", "err", err)
			}
			return nil
		case <-t.C:
		}
	}
}

// Pass uploads every closed file not uploaded yet and returns how many it
// uploaded; the error joins those of the files that failed (they stay
// pending).
func (u *Uploader) Pass(ctx context.Context) (int, error) {
	var todo []string
	err := filepath.WalkDir(u.cfg.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // no export yet
			}
			return err
		}
		name := d.Name()
		if d.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json.gz") {
			return nil
		}
		if _, err := os.Stat(marker(p)); err == nil {
			return nil
		}
		todo = append(todo, p)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("export upload: %w", err)
	}
	u.pending.Store(int64(len(todo)))
	var errs []error
	done := 0
	for _, p := range todo {
		if ctx.Err() != nil {
			break
		}
		if err := u.upload(ctx, p); err != nil {
			u.failures.Add(1)
			errs = append(errs, err)
			continue
		}
		done++
		u.pending.Add(-1)
	}
	return done, errors.Join(errs...)
}

// upload puts one file and records it.
func (u *Uploader) upload(ctx context.Context, p string) error {
	rel, err := filepath.Rel(u.cfg.Dir, p)
	if err != nil {
		return err
	}
	key := u.cfg.Prefix + filepath.ToSlash(rel)
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	// A server that stops answering must not hold the uploader forever.
	ctx, cancel := context.WithTimeout(ctx, uploadTimeout)
	defer cancel()
	info, err := u.client.PutObject(ctx, u.cfg.Bucket, key, f, st.Size(), minio.PutObjectOptions{
		ContentType: "application/gzip", SendContentMd5: true,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	u.uploaded.Add(1)
	u.bytes.Add(info.Size)
	if u.cfg.DeleteAfterUpload {
		return os.Remove(p)
	}
	m := marker(p)
	tmp := m + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%s/%s etag %s\n", u.cfg.Bucket, key, info.ETag)), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, m)
}

// marker is the upload record of the file at p.
func marker(p string) string {
	return filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".uploaded")
}
