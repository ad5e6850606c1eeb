package revocation

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// ParseFile reads one session id per line; blank lines and lines starting
// with '#' are skipped, and text after the id (separated by white space)
// is a comment. Ids are 1-200 letters, digits or '_' (SMDE's syntax).
func ParseFile(b []byte) ([]string, error) {
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if i := bytes.IndexAny(line, " \t"); i >= 0 {
			line = line[:i]
		}
		if !validID(line) {
			return nil, fmt.Errorf("line %d: %q is not a session id (1-200 letters, digits or '_')", n, truncate(line))
		}
		ids = append(ids, string(line))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return ids, nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// FileWatcher keeps a Set equal to a file's content, checking the file's
// size and modification time every interval. A file that becomes
// unreadable or invalid leaves the set as it was (and is logged): a bad
// edit must not un-revoke everyone.
type FileWatcher struct {
	Path     string
	Interval time.Duration
	Set      *Set
	Log      *slog.Logger

	mod  time.Time
	size int64
	// kick asks Run to read the file now (Reread); made by the first Load,
	// which comes before Run.
	kick chan struct{}
}

// Load reads the file once; an error here should stop the edge at start.
func (w *FileWatcher) Load() error {
	if w.kick == nil {
		w.kick = make(chan struct{}, 1)
	}
	st, err := os.Stat(w.Path)
	if err != nil {
		return fmt.Errorf("revoked file: %w", err)
	}
	b, err := os.ReadFile(w.Path)
	if err != nil {
		return fmt.Errorf("revoked file: %w", err)
	}
	ids, err := ParseFile(b)
	if err != nil {
		return fmt.Errorf("revoked file %s: %w", w.Path, err)
	}
	w.Set.Replace(ids)
	w.mod, w.size = st.ModTime(), st.Size()
	return nil
}

// Run reloads the file when it changes until ctx ends.
func (w *FileWatcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.poll(false)
		case <-w.kick:
			w.poll(true)
		}
	}
}

// Reread has Run read the file at once, changed or not (a reload on
// SIGHUP). It does not wait. Load must have run.
func (w *FileWatcher) Reread() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// poll reloads the file if it changed, or at once when forced.
func (w *FileWatcher) poll(force bool) {
	st, err := os.Stat(w.Path)
	if err != nil {
		w.Log.Error("revoked file unreadable; keeping the current set", "path", w.Path, "err", err)
		return
	}
	if !force && st.ModTime().Equal(w.mod) && st.Size() == w.size {
		return
	}
	if err := w.Load(); err != nil {
		w.Log.Error("revoked file not reloaded; keeping the current set", "err", err)
		return
	}
	w.Log.Info("revoked file reloaded", "path", w.Path, "sessions", w.Set.Len())
}
