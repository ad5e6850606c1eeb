package origin

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file is a minimal walker over ISO BMFF (MP4) boxes. It reads headers
// and fixed fields only, checks every length against the bytes it has, and
// never allocates in proportion to a length it read: arbitrary input gives
// an error, never a panic (FuzzParseFragment and FuzzParseInit keep it so).

// errMalformed is wrapped by every error about bytes that are not the MP4
// the walker expects.
var errMalformed = errors.New("malformed mp4")

// boxType is a four-character box type, e.g. "moof".
type boxType [4]byte

func (t boxType) String() string { return fmt.Sprintf("%q", string(t[:])) }

// bt makes a boxType from a four-character string.
func bt(s string) boxType {
	var t boxType
	copy(t[:], s)
	return t
}

// box locates one box in a byte slice: its header starts at start, its
// payload at body, and it ends just before end.
type box struct {
	typ              boxType
	start, body, end int
}

// readBox reads the header of the box at b[off:], inside a container that
// ends at end.
func readBox(b []byte, off, end int) (box, error) {
	if off < 0 || end > len(b) || off > end {
		return box{}, fmt.Errorf("%w: box at %d outside [0, %d]", errMalformed, off, end)
	}
	if end-off < 8 {
		return box{}, fmt.Errorf("%w: %d bytes at %d, too few for a box header", errMalformed, end-off, off)
	}
	bx := box{start: off, body: off + 8}
	copy(bx.typ[:], b[off+4:off+8])
	size := uint64(binary.BigEndian.Uint32(b[off:]))
	switch size {
	case 0: // the box extends to the end of its container
		size = uint64(end - off)
	case 1: // a 64-bit size follows the type
		if end-off < 16 {
			return box{}, fmt.Errorf("%w: %s box at %d: truncated 64-bit size", errMalformed, bx.typ, off)
		}
		size = binary.BigEndian.Uint64(b[off+8:])
		bx.body += 8
	}
	if bx.typ == bt("uuid") {
		bx.body += 16 // extended type
	}
	if size < uint64(bx.body-off) || size > uint64(end-off) {
		return box{}, fmt.Errorf("%w: %s box at %d: size %d outside [%d, %d]",
			errMalformed, bx.typ, off, size, bx.body-off, end-off)
	}
	bx.end = off + int(size)
	return bx, nil
}

// eachBox calls fn for each box in b[start:end], in order, and stops at the
// first error.
func eachBox(b []byte, start, end int, fn func(box) error) error {
	for off := start; off < end; {
		bx, err := readBox(b, off, end)
		if err != nil {
			return err
		}
		if err := fn(bx); err != nil {
			return err
		}
		off = bx.end
	}
	return nil
}

// cursor reads big-endian fields from b[off:end]. The first read past end
// sets err; later reads return zero, so a parser can read a whole structure
// and check err once.
type cursor struct {
	b        []byte
	off, end int
	what     boxType
	err      error
}

// payload returns a cursor over the payload of bx.
func payload(b []byte, bx box) *cursor {
	return &cursor{b: b, off: bx.body, end: bx.end, what: bx.typ}
}

// take advances over n bytes and returns their offset, or -1 past the end.
func (c *cursor) take(n int) int {
	if c.err != nil {
		return -1
	}
	if n < 0 || c.end-c.off < n {
		c.err = fmt.Errorf("%w: %s box truncated at %d", errMalformed, c.what, c.off)
		return -1
	}
	at := c.off
	c.off += n
	return at
}

func (c *cursor) u8() uint8 {
	if at := c.take(1); at >= 0 {
		return c.b[at]
	}
	return 0
}

func (c *cursor) u16() uint16 {
	if at := c.take(2); at >= 0 {
		return binary.BigEndian.Uint16(c.b[at:])
	}
	return 0
}

func (c *cursor) u32() uint32 {
	if at := c.take(4); at >= 0 {
		return binary.BigEndian.Uint32(c.b[at:])
	}
	return 0
}

func (c *cursor) u64() uint64 {
	if at := c.take(8); at >= 0 {
		return binary.BigEndian.Uint64(c.b[at:])
	}
	return 0
}

// fullHeader reads the version and flags of a full box.
func (c *cursor) fullHeader() (version uint8, flags uint32) {
	v := c.u32()
	return uint8(v >> 24), v & 0xFFFFFF
}

// left is the number of bytes not yet read.
func (c *cursor) left() int { return c.end - c.off }
