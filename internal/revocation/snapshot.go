package revocation

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/smd-media/smd/token/smde"
)

// The snapshot file holds a Set and the bucket revision it reflects:
//
//	magic     8 bytes  "SMDREV1\n"
//	revision  8 bytes  little endian
//	count     8 bytes  little endian
//	count times:
//	  id length  uvarint (1-200)
//	  id         bytes (letters, digits, '_')
//	  expiry     uvarint, Unix nanoseconds; 0 for none
//	crc       4 bytes  CRC-32C of everything before, little endian
//
// It is binary so that an edge with 1,000,000 revocations starts from it
// in a fraction of a second, and checksummed so that a torn or damaged
// file is refused as a whole rather than read in part.
const snapshotMagic = "SMDREV1\n"

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// snapshotEntry is one entry of a snapshot.
type snapshotEntry struct {
	id  string
	exp int64
}

// parseSnapshot reads a snapshot file's content, calling add for each
// entry once the whole file has been checked, and returns its revision and
// entry count.
func parseSnapshot(b []byte, add func(id string, exp int64)) (rev uint64, n int, err error) {
	const head = len(snapshotMagic) + 16
	if len(b) < head+4 || string(b[:len(snapshotMagic)]) != snapshotMagic {
		return 0, 0, errors.New("snapshot: not an smd revocation snapshot")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, crcTable) != sum {
		return 0, 0, errors.New("snapshot: checksum mismatch (torn or damaged file)")
	}
	rev = binary.LittleEndian.Uint64(b[len(snapshotMagic):])
	count := binary.LittleEndian.Uint64(b[len(snapshotMagic)+8:])
	// Each entry takes at least 3 bytes: a bound before trusting count.
	if count > uint64(len(body)-head)/3 {
		return 0, 0, fmt.Errorf("snapshot: count %d larger than the file", count)
	}
	// First pass checks, second pass adds: a bad file adds nothing.
	for pass := range 2 {
		p := body[head:]
		for i := range count {
			l, k := binary.Uvarint(p)
			if k <= 0 || l == 0 || l > smde.MaxSessionID || uint64(len(p)-k) < l {
				return 0, 0, fmt.Errorf("snapshot: entry %d: bad id length", i)
			}
			id := p[k : k+int(l)]
			p = p[k+int(l):]
			exp, k := binary.Uvarint(p)
			if k <= 0 || exp > 1<<63-1 {
				return 0, 0, fmt.Errorf("snapshot: entry %d: bad expiry", i)
			}
			p = p[k:]
			if pass == 0 {
				if !validID(id) {
					return 0, 0, fmt.Errorf("snapshot: entry %d: bad session id", i)
				}
				continue
			}
			add(string(id), int64(exp))
		}
		if len(p) != 0 {
			return 0, 0, errors.New("snapshot: trailing bytes after the entries")
		}
	}
	return rev, int(count), nil
}

// readSnapshot loads the snapshot at path into set.
func readSnapshot(path string, set *Set) (rev uint64, n int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	return parseSnapshot(b, func(id string, exp int64) { set.addRaw(id, exp) })
}

// writeSnapshot writes set and rev to path atomically: a temporary file in
// the same directory, synced, then renamed over path. Entries whose expiry
// is before now (Unix nanoseconds) are left out. It returns the number of
// entries written.
func writeSnapshot(path string, set *Set, rev uint64, now int64) (n int, err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, fmt.Errorf("snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// The count is known only at the end: collect the live entries first.
	// The set changes meanwhile; the snapshot holds each entry as it was
	// when its shard was read, which is what a restart needs (it catches
	// up with the whole bucket anyway).
	var entries []snapshotEntry
	set.each(func(id string, exp int64) {
		if exp == 0 || exp > now {
			entries = append(entries, snapshotEntry{id, exp})
		}
	})
	if err := encodeSnapshot(f, rev, entries); err != nil {
		return 0, fmt.Errorf("snapshot: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("snapshot: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("snapshot: close: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return 0, fmt.Errorf("snapshot: rename: %w", err)
	}
	// Make the rename itself durable.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return len(entries), nil
}

// encodeSnapshot writes a snapshot of entries at revision rev to out.
func encodeSnapshot(out io.Writer, rev uint64, entries []snapshotEntry) error {
	h := crc32.New(crcTable)
	w := bufio.NewWriterSize(io.MultiWriter(out, h), 1<<16)
	var hdr [len(snapshotMagic) + 16]byte
	copy(hdr[:], snapshotMagic)
	binary.LittleEndian.PutUint64(hdr[len(snapshotMagic):], rev)
	binary.LittleEndian.PutUint64(hdr[len(snapshotMagic)+8:], uint64(len(entries)))
	w.Write(hdr[:])
	var buf [binary.MaxVarintLen64]byte
	for _, e := range entries {
		w.Write(binary.AppendUvarint(buf[:0], uint64(len(e.id))))
		w.WriteString(e.id)
		w.Write(binary.AppendUvarint(buf[:0], uint64(e.exp)))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return binary.Write(out, binary.LittleEndian, h.Sum32())
}
