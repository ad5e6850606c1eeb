package keyring

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/smd-media/smd/token"
)

// FileRing is the ring of a key file that is reloaded when the file
// changes (an edge without NATS): a key removed from the file stops
// verifying at the next check, a key added starts. Lookup always answers
// from the last good load; a file that becomes unreadable or invalid keeps
// it (and says so in the log). A key whose secret did not change keeps its
// *token.Key across loads, so verifiers' caches stay warm; a removed or
// changed one does not, so no cached verification outlives it.
type FileRing struct {
	path string
	cur  atomic.Pointer[Ring]
	mod  time.Time
	size int64
	// kick asks Run to read the file now (Reread).
	kick chan struct{}
}

// LoadFile reads the key file at path; an error here should stop the edge
// at start.
func LoadFile(path string) (*FileRing, error) {
	f := &FileRing{path: path, kick: make(chan struct{}, 1)}
	if err := f.load(); err != nil {
		return nil, err
	}
	return f, nil
}

// Lookup implements token.KeyRing.
func (f *FileRing) Lookup(id string) *token.Key { return f.cur.Load().Lookup(id) }

// Len is the number of keys held.
func (f *FileRing) Len() int { return f.cur.Load().Len() }

// load reads the file and swaps the ring in.
func (f *FileRing) load() error {
	st, err := os.Stat(f.path)
	if err != nil {
		return err
	}
	r, err := Load(f.path)
	if err != nil {
		return err
	}
	if old := f.cur.Load(); old != nil {
		for i, k := range r.keys {
			if o := old.byID[k.ID]; o != nil && bytes.Equal(o.Secret, k.Secret) {
				if r.primary == k {
					r.primary = o
				}
				r.keys[i], r.byID[k.ID] = o, o
			}
		}
	}
	f.cur.Store(r)
	f.mod, f.size = st.ModTime(), st.Size()
	return nil
}

// Run checks the file every interval and reloads it when its size or
// modification time changed, until ctx ends.
func (f *FileRing) Run(ctx context.Context, interval time.Duration, log *slog.Logger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			f.poll(log, false)
		case <-f.kick:
			f.poll(log, true)
		}
	}
}

// Reread has Run read the file at once, changed or not (a reload on
// SIGHUP). It does not wait.
func (f *FileRing) Reread() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// poll reloads the file if it changed, or at once when forced.
func (f *FileRing) poll(log *slog.Logger, force bool) {
	st, err := os.Stat(f.path)
	if err != nil {
		log.Error("key file unreadable; keeping the current keys", "path", f.path, "err", err)
		return
	}
	if !force && st.ModTime().Equal(f.mod) && st.Size() == f.size {
		return
	}
	before := f.cur.Load().IDs()
	if err := f.load(); err != nil {
		log.Error("key file not reloaded; keeping the current keys", "err", err)
		return
	}
	log.Info("key file reloaded", "path", f.path, "keys", f.cur.Load().IDs(), "before", before)
}
