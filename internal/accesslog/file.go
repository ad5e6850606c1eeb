package accesslog

import (
	"io"
	"os"

	"gopkg.in/natefinch/lumberjack.v2"
)

// FileConfig is a rotating file.
type FileConfig struct {
	// Path of the file; "-" is standard output.
	Path string
	// MaxBytes rotates the file past this size.
	MaxBytes int64
	// MaxBackups rotated files are kept.
	MaxBackups int
	// MaxAgeDays removes rotated files older than this many days.
	MaxAgeDays int
}

// OpenFile returns a writer for the configuration: standard output, or a
// file rotated by size (with lumberjack, a maintained rotating writer).
func OpenFile(c FileConfig) io.Writer {
	if c.Path == "-" {
		return nopCloser{os.Stdout}
	}
	mb := int((c.MaxBytes + (1<<20 - 1)) >> 20)
	if mb < 1 {
		mb = 1
	}
	return &lumberjack.Logger{Filename: c.Path, MaxSize: mb, MaxBackups: c.MaxBackups, MaxAge: c.MaxAgeDays}
}

// nopCloser keeps Close from closing standard output.
type nopCloser struct{ io.Writer }
