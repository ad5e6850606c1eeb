package accessexport

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// hourKey is the partition of a time: "2006-01-02T15" in UTC.
func hourKey(t time.Time) string { return t.UTC().Format("2006-01-02T15") }

// hourStart parses an hourKey.
func hourStart(key string) (time.Time, error) { return time.Parse("2006-01-02T15", key) }

// partitionDir is dt=YYYY-MM-DD/hour=HH of an hour.
func partitionDir(h time.Time) string {
	return filepath.Join("dt="+h.Format("2006-01-02"), "hour="+h.Format("15"))
}

// hourFile is a file of one hour being written under a temporary name.
type hourFile struct {
	hour     string
	tmp      string
	final    string
	f        *os.File
	bw       *bufio.Writer
	gz       *gzip.Writer
	first    uint64 // stream sequence of the first event
	last     uint64 // and of the last
	events   int
	deadline time.Time // close then
}

// openHourFile starts the file of hour (an hourKey) whose first event has
// stream sequence seq, in dir, closing at deadline.
func openHourFile(dir, node, hour string, seq uint64, deadline time.Time) (*hourFile, error) {
	h, err := hourStart(hour)
	if err != nil {
		return nil, err
	}
	d := filepath.Join(dir, partitionDir(h))
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	name := fmt.Sprintf("%s-%d.json.gz", node, seq)
	hf := &hourFile{hour: hour, tmp: filepath.Join(d, "."+name+".tmp"), final: filepath.Join(d, name), first: seq, deadline: deadline}
	hf.f, err = os.OpenFile(hf.tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	hf.bw = bufio.NewWriterSize(hf.f, 256<<10)
	hf.gz = gzip.NewWriter(hf.bw)
	return hf, nil
}

// write appends one line (the JSON event and a newline).
func (hf *hourFile) write(line []byte, seq uint64) error {
	if _, err := hf.gz.Write(line); err != nil {
		return fmt.Errorf("export: %s: %w", hf.tmp, err)
	}
	hf.last = seq
	hf.events++
	return nil
}

// finish completes the gzip stream, fsyncs the file, renames it into
// place and fsyncs the directory.
func (hf *hourFile) finish() error {
	err := hf.gz.Close()
	if err == nil {
		err = hf.bw.Flush()
	}
	if err == nil {
		err = hf.f.Sync()
	}
	if cerr := hf.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(hf.tmp, hf.final)
	}
	if err != nil {
		os.Remove(hf.tmp)
		return fmt.Errorf("export: %s: %w", hf.final, err)
	}
	if d, err := os.Open(filepath.Dir(hf.final)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// abort removes the temporary file.
func (hf *hourFile) abort() {
	hf.f.Close()
	os.Remove(hf.tmp)
}
