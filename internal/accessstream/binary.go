package accessstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
)

// The binary batch (format 3), what edges publish: the two bytes
// binaryMagic, then per event a record, a uvarint length followed by that
// many bytes holding, in this order:
//
//	time          zigzag varint Unix seconds, uvarint nanoseconds
//	edge_id       string
//	request_id    kind byte: 0, a string (the id); 1, a string (prefix)
//	              and a uvarint (sequence, the id's tail in base 36)
//	session_id    string
//	kid           string
//	verdict       string
//	reason        string
//	status        zigzag varint
//	viewer_ip     kind byte: 0, a string; 4 or 16, that many address bytes
//	country       string
//	user_agent    string
//	referer       string
//	method        string
//	route         string
//	origin_path   string
//	bytes_sent    zigzag varint
//	duration      uvarint microseconds
//	cache_status  string
//	flags         uvarint, bit 0: session_unproven; written only when not
//	              zero or media_ms follows, and absent in records of
//	              earlier versions
//	media_ms      uvarint, the segment's media duration in milliseconds
//	asn           uvarint, the viewer's autonomous system number
//	              (flags, media_ms and asn are written only when one of
//	              them is not zero, and absent in records of earlier
//	              versions)
//
// where a string is a uvarint length and its bytes, as they are (not
// necessarily UTF-8). Bytes after the last field of a record are ignored,
// so that a later version can add fields at the end.
//
// Why not JSON lines (format 2, still read): the edge encodes every
// request's event, and in bench/publish.sh encoding JSON was most of what
// publishing cost a loaded edge (about 8-10% of its CPU per request; a
// fixed line of 120 bytes in its place cost about 2%). A record is about a
// third of the JSON's size, mostly copied bytes, and needs no escaping or
// decimal formatting; the request id and viewer address go in their binary
// forms. Exports and the access log file stay JSON.

// binaryMagic starts a binary batch. A JSON lines batch starts with '{'.
var binaryMagic = [2]byte{0x00, 0x03}

// FormatBinary is the version of the binary batch format.
const FormatBinary = "3"

// Kinds of the request id and viewer address fields.
const (
	idString   = 0
	idSequence = 1
	addrString = 0
	addrV4     = 4
	addrV6     = 16
)

// maxRecordHeader is the most bytes a record's length takes.
const maxRecordHeader = binary.MaxVarintLen32

// isBinary reports whether a batch body is in the binary format.
func isBinary(b []byte) bool {
	return len(b) >= len(binaryMagic) && b[0] == binaryMagic[0] && b[1] == binaryMagic[1]
}

// appendRecord appends e's record, length first, to dst. A negative
// duration is written as 0 (a decoder would refuse it).
func appendRecord(dst []byte, e *accesslog.Event) []byte {
	// The length goes first but is known last: reserve one byte, the
	// length of most records' length, and move the body if it needs more.
	at := len(dst)
	dst = append(dst, 0)
	dst = binary.AppendVarint(dst, e.Time.Unix())
	dst = binary.AppendUvarint(dst, uint64(e.Time.Nanosecond()))
	dst = appendStr(dst, e.EdgeID)
	if e.RequestID == "" && e.RequestPrefix != "" {
		dst = append(dst, idSequence)
		dst = appendStr(dst, e.RequestPrefix)
		dst = binary.AppendUvarint(dst, e.RequestSeq)
	} else {
		dst = append(dst, idString)
		dst = appendStr(dst, e.RequestID)
	}
	dst = appendStr(dst, e.SessionID)
	dst = appendStr(dst, e.KeyID)
	dst = appendStr(dst, e.Verdict)
	dst = appendStr(dst, e.Reason)
	dst = binary.AppendVarint(dst, int64(e.Status))
	switch a := e.Addr; {
	case e.ViewerIP != "" || !a.IsValid() || a.Zone() != "":
		dst = append(dst, addrString)
		dst = appendStr(dst, e.IP())
	case a.Is4():
		b := a.As4()
		dst = append(append(dst, addrV4), b[:]...)
	default:
		b := a.As16()
		dst = append(append(dst, addrV6), b[:]...)
	}
	dst = appendStr(dst, e.Country)
	dst = appendStr(dst, e.UserAgent)
	dst = appendStr(dst, e.Referer)
	dst = appendStr(dst, e.Method)
	dst = appendStr(dst, e.Route)
	dst = appendStr(dst, e.OriginPath)
	dst = binary.AppendVarint(dst, e.BytesSent)
	dst = binary.AppendUvarint(dst, uint64(max(e.Duration.Microseconds(), 0)))
	dst = appendStr(dst, e.CacheStatus)
	if f := recordFlags(e); f != 0 || e.MediaMS != 0 || e.ASN != 0 {
		dst = binary.AppendUvarint(dst, f)
		dst = binary.AppendUvarint(dst, uint64(e.MediaMS))
		if e.ASN != 0 {
			dst = binary.AppendUvarint(dst, uint64(e.ASN))
		}
	}

	n := len(dst) - at - 1
	if n < 0x80 {
		dst[at] = byte(n)
		return dst
	}
	var hdr [maxRecordHeader]byte
	h := binary.PutUvarint(hdr[:], uint64(n))
	dst = append(dst, hdr[:h-1]...) // room for the longer length
	copy(dst[at+h:], dst[at+1:at+1+n])
	copy(dst[at:], hdr[:h])
	return dst
}

// Bits of a record's flags.
const flagSessionUnproven = 1 << 0

func recordFlags(e *accesslog.Event) uint64 {
	var f uint64
	if e.SessionUnproven {
		f |= flagSessionUnproven
	}
	return f
}

func appendStr(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// errRecord is the error of a record that does not parse.
var errRecord = errors.New("truncated or malformed record")

// DecodeBinaryBatch hands fn the events of a binary batch body, in order,
// skipping the records that are not valid events, and returns how many it
// handed over and how many it skipped, with the first error met. A record
// whose length runs past the body ends the batch (counted as one bad).
func DecodeBinaryBatch(b []byte, fn func(*accesslog.Event)) (ok, bad int, err error) {
	if !isBinary(b) {
		return 0, 1, fmt.Errorf("%w: not a binary batch", ErrFormat)
	}
	b = b[len(binaryMagic):]
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			if err == nil {
				err = fmt.Errorf("record %d: bad length", ok+bad+1)
			}
			return ok, bad + 1, err
		}
		rec := b[k : k+int(n)]
		b = b[k+int(n):]
		e, derr := decodeRecord(rec)
		if derr != nil {
			if err == nil {
				err = fmt.Errorf("record %d: %w", ok+bad+1, derr)
			}
			bad++
			continue
		}
		fn(e)
		ok++
	}
	return ok, bad, err
}

// binaryRecords counts the records of a binary batch (a record whose length
// runs past the body counts as one).
func binaryRecords(b []byte) int {
	b = b[min(len(b), len(binaryMagic)):]
	n := 0
	for len(b) > 0 {
		l, k := binary.Uvarint(b)
		n++
		if k <= 0 || l > uint64(len(b)-k) {
			break
		}
		b = b[k+int(l):]
	}
	return n
}

// maxDurationUS bounds a record's duration as accesslog.DecodeEvent bounds
// duration_ms.
const maxDurationUS = 1e15

// decodeRecord reads one record's body. It checks what
// accesslog.DecodeEvent checks: a time in years 1-9999, a duration below
// about 31 years.
func decodeRecord(b []byte) (*accesslog.Event, error) {
	r := reader{b: b}
	var e accesslog.Event
	sec, nsec := r.varint(), r.uvarint()
	if r.bad || nsec >= 1e9 || sec < minUnix || sec > maxUnix {
		return nil, fmt.Errorf("%w: time", errRecord)
	}
	e.Time = time.Unix(sec, int64(nsec)).UTC()
	e.EdgeID = r.str()
	switch r.byte() {
	case idString:
		e.RequestID = r.str()
	case idSequence:
		prefix := r.str()
		e.RequestID = prefix + strconv.FormatUint(r.uvarint(), 36)
	default:
		r.bad = true
	}
	e.SessionID = r.str()
	e.KeyID = r.str()
	e.Verdict = r.str()
	e.Reason = r.str()
	status := r.varint()
	if status < math.MinInt32 || status > math.MaxInt32 {
		r.bad = true
	}
	e.Status = int(status)
	switch r.byte() {
	case addrString:
		e.ViewerIP = r.str()
	case addrV4:
		if a := r.bytes(4); a != nil {
			e.ViewerIP = netip.AddrFrom4([4]byte(a)).String()
		}
	case addrV6:
		if a := r.bytes(16); a != nil {
			e.ViewerIP = netip.AddrFrom16([16]byte(a)).String()
		}
	default:
		r.bad = true
	}
	e.Country = r.str()
	e.UserAgent = r.str()
	e.Referer = r.str()
	e.Method = r.str()
	e.Route = r.str()
	e.OriginPath = r.str()
	e.BytesSent = r.varint()
	us := r.uvarint()
	if us >= maxDurationUS {
		r.bad = true
	}
	e.Duration = time.Duration(us) * time.Microsecond
	e.DurationMS = float64(us) / 1000
	e.CacheStatus = r.str()
	if len(r.b) > 0 {
		e.SessionUnproven = r.uvarint()&flagSessionUnproven != 0
	}
	if len(r.b) > 0 {
		ms := r.uvarint()
		if ms > math.MaxUint32 {
			r.bad = true
		}
		e.MediaMS = uint32(ms)
	}
	if len(r.b) > 0 {
		asn := r.uvarint()
		if asn > math.MaxUint32 {
			r.bad = true
		}
		e.ASN = uint32(asn)
	}
	if r.bad {
		return nil, errRecord
	}
	return &e, nil
}

// The Unix seconds of years 1 and 9999 (whole years, in UTC).
var (
	minUnix = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).Unix() - 1
)

// reader reads a record's fields; past the end or on a malformed field it
// sets bad and returns zero values.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.bad = true
		r.b = nil
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) varint() int64 {
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.bad = true
		r.b = nil
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0xff
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes(n int) []byte {
	if len(r.b) < n {
		r.bad = true
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad = true
		r.b = nil
		return ""
	}
	return string(r.bytes(int(n)))
}
