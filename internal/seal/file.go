package seal

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// EnvVar is the environment variable that holds the master key's text; it
// takes precedence over the key file.
const EnvVar = "SMD_MASTER_KEY"

// maxFileSize bounds a master key file: the key is 44 or 64 characters.
const maxFileSize = 4096

// Load returns the master key from the environment variable [EnvVar]
// (read through lookup, e.g. os.LookupEnv; nil means no environment) when
// it is set, else from the file at path. With create, an absent file is
// generated (see [LoadOrCreate]). from describes where the key came from,
// for a log line: "SMD_MASTER_KEY", "<path>" or "<path> (created)".
func Load(path string, lookup func(string) (string, bool), create bool) (k *Key, from string, err error) {
	if lookup != nil {
		if v, ok := lookup(EnvVar); ok {
			k, err := ParseKey([]byte(v))
			if err != nil {
				return nil, "", fmt.Errorf("%s: %w", EnvVar, err)
			}
			return k, EnvVar, nil
		}
	}
	if path == "" {
		return nil, "", fmt.Errorf("no master key: set %s or a master key file", EnvVar)
	}
	if !create {
		k, err := LoadFile(path)
		return k, path, err
	}
	k, created, err := LoadOrCreate(path)
	if err != nil {
		return nil, "", err
	}
	if created {
		return k, path + " (created)", nil
	}
	return k, path, nil
}

// LoadFile reads the master key file at path. It refuses a file that group
// or others may read or write, and a key of the wrong size.
func LoadFile(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("master key file %s: not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("master key file %s has mode %04o: group and others must have no access; run chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("master key file %s: larger than %d bytes; it should hold only the key", path, maxFileSize)
	}
	k, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("master key file %s: %w", path, err)
	}
	return k, nil
}

// LoadOrCreate reads the master key file at path, or, when there is none,
// generates a key and writes it there with mode 0600 (its directory is
// created with mode 0700 if needed). Two processes racing to create it end
// up with the same key: the file is written aside and linked into place,
// which fails if another process got there first; then that file is read.
func LoadOrCreate(path string) (k *Key, created bool, err error) {
	k, err = LoadFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("master key file: %w", err)
	}
	k, text, err := Generate()
	if err != nil {
		return nil, false, err
	}
	tmp, err := os.CreateTemp(dir, ".master.key.*") // mode 0600
	if err != nil {
		return nil, false, fmt.Errorf("master key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("master key file: %w", err)
	}
	if _, err := tmp.Write(text); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("master key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, fmt.Errorf("master key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, false, fmt.Errorf("master key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process created it meanwhile
			k, err := LoadFile(path)
			return k, false, err
		}
		return nil, false, fmt.Errorf("master key file: %w", err)
	}
	syncDir(dir)
	return k, true, nil
}

// syncDir makes a new directory entry durable; failures are ignored (not
// every file system supports it).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
