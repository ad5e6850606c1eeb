package accessstream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The spool is a directory of append-only segment files, <id>.seg with a
// 16-digit hexadecimal id growing by one per segment, and a file "head"
// holding the read position (segment id and offset) up to which events
// were acknowledged by the stream. Each record is
//
//	length  uint32, little endian: of the payload
//	crc     uint32, little endian: CRC-32C of the payload
//	payload partition (1 byte), uvarint length of the message id, the
//	        message id, the message body: a batch of events, JSON lines
//
// A record is one message, published as it was spooled: a batch sent
// again after a failure or a restart is byte for byte the one sent before,
// with the same message id, so the stream's duplicate window and the
// consumers' id rings drop it whole.
//
// A torn record at the end of the last segment (a crash while writing) is
// cut off when the spool is opened. Only the publisher's goroutine uses a
// spool.

// record is one message, ready to publish: a batch of encoded events of
// one partition.
type record struct {
	part int
	id   string // Nats-Msg-Id
	data []byte // JSON lines
	n    int    // events (lines) in data
}

// events is the number of events in recs.
func events(recs []record) int {
	n := 0
	for i := range recs {
		n += recs[i].n
	}
	return n
}

func (r *record) size() int { return len(r.id) + len(r.data) + 24 }

// pos is a place in the spool: after the record ending at off in segment seg.
type pos struct {
	seg uint64
	off int64
}

const (
	recordHeader = 8
	// maxRecord bounds a record's payload: larger lengths are corruption.
	maxRecord = 16 << 20
	// firstSegment is the id of a new spool's first segment.
	firstSegment = 1 << 32
	headFile     = "head"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errSpoolFull is returned by append when the spool holds its maximum.
var errSpoolFull = errors.New("access spool full")

type spool struct {
	dir       string
	maxBytes  int64
	segBytes  int64
	syncEvery time.Duration
	log       *slog.Logger

	segs  []uint64         // ascending
	sizes map[uint64]int64 // bytes written (buffered included)
	total int64            // sum of sizes

	head pos // acknowledged up to here
	rpos pos // next read

	w        *os.File
	wb       *bufio.Writer
	wseg     uint64
	unsynced bool
	// broken: a write to the segment failed (a full disk): the next
	// append abandons it and starts another. buffered counts the events
	// in wb since it was last flushed: lost when a flush fails.
	broken   bool
	buffered int
	lost     int // events counted written, then lost to a failed write: see takeLost
	lastSync time.Time
	headOut  bool // head changed since last written

	r    *os.File
	rb   *bufio.Reader
	rseg uint64
	roff int64

	scratch []byte
}

// openSpool opens (creating it if need be) the spool in dir, removes the
// segments already acknowledged, and cuts a torn record off the last one.
func openSpool(dir string, maxBytes, segBytes int64, syncEvery time.Duration, log *slog.Logger) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("access spool: %w", err)
	}
	s := &spool{dir: dir, maxBytes: maxBytes, segBytes: segBytes, syncEvery: syncEvery, log: log,
		sizes: map[uint64]int64{}, lastSync: time.Now()}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("access spool: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".seg") || len(name) != 20 {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 16, 64)
		if err != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("access spool: %w", err)
		}
		s.segs = append(s.segs, id)
		s.sizes[id] = fi.Size()
	}
	slices.Sort(s.segs)
	s.head = s.readHead()
	// Drop what was acknowledged before.
	for len(s.segs) > 0 && s.segs[0] < s.head.seg {
		s.remove(s.segs[0])
	}
	if len(s.segs) > 0 {
		last := s.segs[len(s.segs)-1]
		good, err := s.validEnd(last)
		if err != nil {
			return nil, err
		}
		if good < s.sizes[last] {
			s.log.Warn("access spool: cutting a torn record off the last segment", "segment", s.path(last), "at", good, "size", s.sizes[last])
			if err := os.Truncate(s.path(last), good); err != nil {
				return nil, fmt.Errorf("access spool: %w", err)
			}
			s.sizes[last] = good
		}
		if s.head.seg != s.segs[0] || s.head.off > s.sizes[s.segs[0]] {
			s.head = pos{s.segs[0], 0}
		}
	} else {
		s.head = pos{}
	}
	for _, id := range s.segs {
		s.total += s.sizes[id]
	}
	s.rpos = s.head
	return s, nil
}

func (s *spool) path(id uint64) string { return filepath.Join(s.dir, fmt.Sprintf("%016x.seg", id)) }

// readHead reads the head file; a missing or bad one means the start.
func (s *spool) readHead() pos {
	b, err := os.ReadFile(filepath.Join(s.dir, headFile))
	if err != nil {
		return pos{}
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return pos{}
	}
	seg, err1 := strconv.ParseUint(f[0], 16, 64)
	off, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || off < 0 {
		return pos{}
	}
	return pos{seg, off}
}

// validEnd returns the offset after the last whole, intact record of
// segment id.
func (s *spool) validEnd(id uint64) (int64, error) {
	f, err := os.Open(s.path(id))
	if err != nil {
		return 0, fmt.Errorf("access spool: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	var off int64
	for {
		n, err := skipRecord(br)
		if err != nil {
			return off, nil
		}
		off += n
	}
}

// skipRecord reads one record and checks it, returning its length.
func skipRecord(br *bufio.Reader) (int64, error) {
	var h [recordHeader]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, err
	}
	n := binary.LittleEndian.Uint32(h[:4])
	if n == 0 || n > maxRecord {
		return 0, errors.New("bad length")
	}
	c := crc32.New(crcTable)
	if _, err := io.CopyN(c, br, int64(n)); err != nil {
		return 0, err
	}
	if c.Sum32() != binary.LittleEndian.Uint32(h[4:]) {
		return 0, errors.New("bad checksum")
	}
	return recordHeader + int64(n), nil
}

// end is the position after the last record written.
func (s *spool) end() pos {
	if len(s.segs) == 0 {
		return pos{}
	}
	last := s.segs[len(s.segs)-1]
	return pos{last, s.sizes[last]}
}

// empty reports whether every record was acknowledged.
func (s *spool) empty() bool { return s.head == s.end() }

// unread reports whether records remain past the read position.
func (s *spool) unread() bool { return s.rpos != s.end() }

// bytes is the size of the segment files.
func (s *spool) bytes() int64 { return s.total }

// append writes records at the end, stopping at the first that would take
// the spool past its maximum (errSpoolFull); it returns how many it wrote
// and the position after each.
func (s *spool) append(recs []record, at []pos) (int, []pos, error) {
	for i := range recs {
		r := &recs[i]
		payload := s.scratch[:0]
		payload = append(payload, byte(r.part))
		payload = binary.AppendUvarint(payload, uint64(len(r.id)))
		payload = append(payload, r.id...)
		payload = append(payload, r.data...)
		s.scratch = payload
		n := int64(recordHeader + len(payload))
		if s.total+n > s.maxBytes {
			return i, at, errSpoolFull
		}
		if s.w != nil && s.broken {
			s.abandon()
		}
		if s.w == nil || s.sizes[s.wseg] >= s.segBytes {
			if err := s.rotate(); err != nil {
				return i, at, err
			}
		}
		var h [recordHeader]byte
		binary.LittleEndian.PutUint32(h[:4], uint32(len(payload)))
		binary.LittleEndian.PutUint32(h[4:], crc32.Checksum(payload, crcTable))
		s.wb.Write(h[:])
		if _, err := s.wb.Write(payload); err != nil {
			// The records the writer held went with it.
			s.broken, s.lost, s.buffered = true, s.lost+s.buffered, 0
			return i, at, fmt.Errorf("access spool: %w", err)
		}
		s.buffered += r.n
		s.sizes[s.wseg] += n
		s.total += n
		s.unsynced = true
		at = append(at, pos{s.wseg, s.sizes[s.wseg]})
	}
	return len(recs), at, nil
}

// openSegment creates a segment file for writing. Tests replace it to
// write to /dev/full, whose writes fail as on a full disk.
var openSegment = func(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
}

// rotate closes the segment being written and starts the next one.
func (s *spool) rotate() error {
	if s.w != nil {
		if err := s.closeWriter(); err != nil {
			return err
		}
	}
	id := uint64(firstSegment)
	if len(s.segs) > 0 {
		id = s.segs[len(s.segs)-1] + 1
	}
	f, err := openSegment(s.path(id))
	if err != nil {
		return fmt.Errorf("access spool: %w", err)
	}
	syncDir(s.dir)
	s.w, s.wseg = f, id
	if s.wb == nil {
		s.wb = bufio.NewWriterSize(f, 64<<10)
	} else {
		s.wb.Reset(f)
	}
	wasEmpty := len(s.segs) == 0
	s.segs = append(s.segs, id)
	s.sizes[id] = 0
	if wasEmpty {
		s.head, s.rpos = pos{id, 0}, pos{id, 0}
		s.headOut = true
	}
	return nil
}

func (s *spool) closeWriter() error {
	err := s.wb.Flush()
	if serr := s.w.Sync(); err == nil {
		err = serr
	}
	if cerr := s.w.Close(); err == nil {
		err = cerr
	}
	s.w = nil
	s.unsynced = false
	if err != nil {
		return fmt.Errorf("access spool: %w", err)
	}
	return nil
}

// flush hands buffered records to the operating system, fsyncs them when
// the sync interval has passed (or always, with an interval of 0), and
// writes the head file when it changed.
func (s *spool) flush(now time.Time) error {
	if s.w != nil && s.broken {
		return nil // abandoned at the next append; its loss is counted
	}
	var err error
	if s.w != nil && s.wb.Buffered() > 0 {
		if err = s.wb.Flush(); err != nil {
			// What the writer held is not on disk.
			s.broken, s.lost = true, s.lost+s.buffered
		}
	}
	s.buffered = 0
	if s.w != nil && s.unsynced && now.Sub(s.lastSync) >= s.syncEvery {
		if serr := s.w.Sync(); err == nil {
			err = serr
		}
		s.unsynced = false
		s.lastSync = now
	}
	if s.headOut {
		if herr := s.writeHead(); err == nil {
			err = herr
		}
	}
	if err != nil {
		return fmt.Errorf("access spool: %w", err)
	}
	return nil
}

// takeLost returns the events counted written to the spool since the last
// call that a failed write lost (a full disk), and forgets them.
func (s *spool) takeLost() int {
	n := s.lost
	s.lost = 0
	return n
}

// abandon closes a segment whose writes failed, keeping of it what reached
// the file: the reader finds its records up to there (a torn last one is
// cut, as after a crash).
func (s *spool) abandon() {
	size := s.sizes[s.wseg]
	if st, err := s.w.Stat(); err == nil && st.Mode().IsRegular() && st.Size() < size {
		size = st.Size()
	} else if err != nil || !st.Mode().IsRegular() {
		size = 0
	}
	s.total -= s.sizes[s.wseg] - size
	s.sizes[s.wseg] = size
	s.w.Close()
	s.w, s.broken, s.buffered, s.unsynced = nil, false, 0, false
}

// writeHead replaces the head file (write to a temporary name, rename).
func (s *spool) writeHead() error {
	tmp := filepath.Join(s.dir, headFile+".tmp")
	b := fmt.Appendf(nil, "%016x %d\n", s.head.seg, s.head.off)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, headFile)); err != nil {
		return err
	}
	s.headOut = false
	return nil
}

// read returns records from the read position, at least one if any is
// left and then as long as they hold fewer than maxEvents events in all,
// and advances it, with the position after each. A corrupt record ends
// its segment: the rest of that segment is skipped, and counted (as one)
// in skipped.
func (s *spool) read(maxEvents int, recs []record, at []pos) ([]record, []pos, int, error) {
	skipped := 0
	for n := 0; (n < maxEvents || len(recs) == 0) && s.unread(); {
		if s.rpos.off >= s.sizes[s.rpos.seg] {
			// End of a segment that is not the last: go to the next.
			i, _ := slices.BinarySearch(s.segs, s.rpos.seg)
			if i+1 >= len(s.segs) {
				break
			}
			s.rpos = pos{s.segs[i+1], 0}
			continue
		}
		if s.w != nil && s.rpos.seg == s.wseg && s.wb.Buffered() > 0 {
			if err := s.wb.Flush(); err != nil {
				return recs, at, skipped, fmt.Errorf("access spool: %w", err)
			}
		}
		if err := s.seekReader(s.rpos); err != nil {
			return recs, at, skipped, err
		}
		r, size, err := s.readRecord()
		if err != nil {
			s.log.Error("access spool: corrupt record; skipping the rest of the segment",
				"segment", s.path(s.rpos.seg), "offset", s.rpos.off, "err", err)
			skipped++
			s.rpos.off = s.sizes[s.rpos.seg]
			s.closeReader()
			continue
		}
		s.roff += size
		s.rpos.off += size
		recs = append(recs, r)
		at = append(at, s.rpos)
		n += r.n
	}
	return recs, at, skipped, nil
}

// seekReader makes the reader stand at p.
func (s *spool) seekReader(p pos) error {
	if s.r != nil && s.rseg == p.seg && s.roff == p.off {
		return nil
	}
	if s.r == nil || s.rseg != p.seg {
		s.closeReader()
		f, err := os.Open(s.path(p.seg))
		if err != nil {
			return fmt.Errorf("access spool: %w", err)
		}
		s.r, s.rseg = f, p.seg
		if s.rb == nil {
			s.rb = bufio.NewReaderSize(f, 256<<10)
		}
	}
	if _, err := s.r.Seek(p.off, io.SeekStart); err != nil {
		return fmt.Errorf("access spool: %w", err)
	}
	s.rb.Reset(s.r)
	s.roff = p.off
	return nil
}

func (s *spool) closeReader() {
	if s.r != nil {
		s.r.Close()
		s.r = nil
	}
}

// readRecord decodes the record at the reader.
func (s *spool) readRecord() (record, int64, error) {
	var h [recordHeader]byte
	if _, err := io.ReadFull(s.rb, h[:]); err != nil {
		s.closeReader()
		return record{}, 0, err
	}
	n := binary.LittleEndian.Uint32(h[:4])
	if n < 2 || n > maxRecord {
		s.closeReader()
		return record{}, 0, fmt.Errorf("bad record length %d", n)
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(s.rb, payload); err != nil {
		s.closeReader()
		return record{}, 0, err
	}
	if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(h[4:]) {
		s.closeReader()
		return record{}, 0, errors.New("bad checksum")
	}
	part := int(payload[0])
	idLen, k := binary.Uvarint(payload[1:])
	if k <= 0 || idLen > uint64(len(payload)-1-k) {
		s.closeReader()
		return record{}, 0, errors.New("bad message id length")
	}
	idAt := 1 + k
	r := record{part: part, id: string(payload[idAt : idAt+int(idLen)]), data: payload[idAt+int(idLen):]}
	r.n = batchEvents(r.data)
	return r, recordHeader + int64(n), nil
}

// resetRead moves the read position back to the head: what was read but
// not acknowledged is read again.
func (s *spool) resetRead() {
	s.rpos = s.head
}

// commit records that every record up to p was acknowledged, and removes
// the segments wholly behind it.
func (s *spool) commit(p pos) {
	if p.seg < s.head.seg || (p.seg == s.head.seg && p.off <= s.head.off) {
		return
	}
	s.head = p
	s.headOut = true
	// A segment read to its end, other than the last, is done.
	for len(s.segs) > 1 && (s.segs[0] < s.head.seg || (s.segs[0] == s.head.seg && s.head.off >= s.sizes[s.head.seg])) {
		id := s.segs[0]
		s.segs = s.segs[1:]
		if s.r != nil && s.rseg == id {
			s.closeReader()
		}
		s.total -= s.sizes[id]
		s.remove(id)
		if s.head.seg == id {
			s.head = pos{s.segs[0], 0}
		}
		if s.rpos.seg == id {
			s.rpos = pos{s.segs[0], 0}
		}
	}
	// Everything acknowledged: remove the last segment too; the next
	// spill starts a new one.
	if len(s.segs) == 1 && s.head == s.end() && s.rpos == s.head {
		id := s.segs[0]
		if s.w != nil {
			s.closeWriter()
		}
		s.closeReader()
		s.total -= s.sizes[id]
		s.remove(id)
		s.segs = s.segs[:0]
		s.head, s.rpos = pos{}, pos{}
	}
}

func (s *spool) remove(id uint64) {
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("access spool: cannot remove a segment", "segment", s.path(id), "err", err)
	}
	delete(s.sizes, id)
}

// close writes out and fsyncs everything, and the head.
func (s *spool) close() error {
	var err error
	if s.w != nil {
		err = s.closeWriter()
	}
	s.closeReader()
	if herr := s.writeHead(); err == nil && herr != nil {
		err = fmt.Errorf("access spool: %w", herr)
	}
	syncDir(s.dir)
	return err
}

// syncDir fsyncs a directory, so that a new file's name survives a crash.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
