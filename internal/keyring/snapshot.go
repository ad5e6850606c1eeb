package keyring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// snapshotFormat names the snapshot file's format.
const snapshotFormat = "smd-keyring-snapshot-1"

// snapshotFile is the local copy of the ring an edge starts from when NATS
// is unreachable. Secrets stay sealed: the file is as safe as the bucket.
type snapshotFile struct {
	Format   string          `json:"format"`
	Revision uint64          `json:"revision"`
	Saved    time.Time       `json:"saved"`
	Ring     json.RawMessage `json:"ring"`
}

// writeSnapshot writes the document's JSON and revision to path atomically
// (a file beside it, synced, renamed over it) with mode 0600.
func writeSnapshot(path string, doc []byte, rev uint64, now time.Time) error {
	b, err := json.Marshal(snapshotFile{Format: snapshotFormat, Revision: rev, Saved: now.UTC(), Ring: doc})
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("key snapshot: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(append(b, '\n'))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("key snapshot: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable where supported
		d.Close()
	}
	return nil
}

// readSnapshot reads a snapshot file: the document (validated) and its
// revision. A missing file gives an error wrapping fs.ErrNotExist.
func readSnapshot(path string) (*Doc, uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("key snapshot: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxDocSize*2+1))
	if err != nil {
		return nil, 0, fmt.Errorf("key snapshot: %w", err)
	}
	if len(b) > MaxDocSize*2 {
		return nil, 0, fmt.Errorf("key snapshot %s: too large", path)
	}
	var s snapshotFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, 0, fmt.Errorf("key snapshot %s: not valid JSON: %w", path, jsonErr(err))
	}
	if s.Format != snapshotFormat {
		return nil, 0, fmt.Errorf("key snapshot %s: format %q, want %q", path, s.Format, snapshotFormat)
	}
	if len(s.Ring) == 0 {
		return nil, 0, errors.New("key snapshot: no ring")
	}
	d, err := DecodeDoc(s.Ring)
	if err != nil {
		return nil, 0, fmt.Errorf("key snapshot %s: %w", path, err)
	}
	return d, s.Revision, nil
}
