package accessstream

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// seqBlock is how many sequence numbers one write of the sequence file
// reserves: at most one fsync per seqBlock events, and at most seqBlock
// numbers skipped by a crash.
const seqBlock = 1 << 20

// seqFile names the file, in the spool directory, that holds the first
// sequence number no process life has handed out yet.
const seqFile = "seq"

// sequence hands out the numbers of the message ids: increasing across
// restarts, since a process only uses numbers below the reservation it
// wrote (and fsynced) to the sequence file. A new file starts at the
// current time in microseconds since 1970, so that an edge whose data
// directory was lost still starts above the numbers it used before, as
// long as it published fewer than a million events per second on average.
type sequence struct {
	path        string
	next, limit uint64
}

func openSequence(dir string, now time.Time) (*sequence, error) {
	s := &sequence{path: filepath.Join(dir, seqFile)}
	b, err := os.ReadFile(s.path)
	switch {
	case err == nil:
		n, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if perr != nil {
			return nil, fmt.Errorf("access spool: %s: not a number", s.path)
		}
		s.next = n
	case os.IsNotExist(err):
		s.next = uint64(now.UnixMicro())
	default:
		return nil, fmt.Errorf("access spool: %w", err)
	}
	s.limit = s.next
	if err := s.reserve(); err != nil {
		return nil, err
	}
	return s, nil
}

// take returns the next number. If a reservation cannot be written, it
// goes on past it (an id is better than a lost event) and tries again
// 4096 numbers later; only a restart before a successful write could then
// reuse numbers.
func (s *sequence) take() (uint64, error) {
	var err error
	if s.next >= s.limit {
		if err = s.reserve(); err != nil {
			s.limit = s.next + 4096
		}
	}
	v := s.next
	s.next++
	return v, err
}

func (s *sequence) reserve() error {
	limit := s.next + seqBlock
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err == nil {
		_, err = f.WriteString(strconv.FormatUint(limit, 10) + "\n")
		if serr := f.Sync(); err == nil {
			err = serr
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		return fmt.Errorf("access spool: sequence reservation: %w", err)
	}
	syncDir(filepath.Dir(s.path))
	s.limit = limit
	return nil
}
