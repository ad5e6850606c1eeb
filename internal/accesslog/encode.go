package accesslog

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// maxDurationMS bounds duration_ms on decoding (about 31 years), so that
// the conversion to a time.Duration cannot overflow.
const maxDurationMS = 1e12

// AppendEvent appends the JSON encoding of e to dst, as the access log
// file and the access stream carry it: time in UTC with nanoseconds,
// duration_ms computed from Duration (to the microsecond), the request id
// and viewer address from their binary forms when the strings are empty,
// no trailing newline. The bytes equal encoding/json's of the event
// expanded (see [Event.Expand]; HTML characters unescaped), written
// without reflection or allocation.
func AppendEvent(dst []byte, e *Event) []byte {
	dst = append(dst, `{"time":"`...)
	dst = appendTime(dst, e.Time)
	dst = append(dst, `","edge_id":`...)
	dst = appendString(dst, e.EdgeID)
	dst = append(dst, `,"request_id":`...)
	if e.RequestID == "" && e.RequestPrefix != "" {
		dst = appendStringBody(append(dst, '"'), e.RequestPrefix)
		dst = append(strconv.AppendUint(dst, e.RequestSeq, 36), '"')
	} else {
		dst = appendString(dst, e.RequestID)
	}
	dst = appendOpt(dst, `,"session_id":`, e.SessionID)
	if e.SessionUnproven {
		dst = append(dst, `,"session_unproven":true`...)
	}
	dst = appendOpt(dst, `,"kid":`, e.KeyID)
	dst = append(dst, `,"verdict":`...)
	dst = appendString(dst, e.Verdict)
	dst = appendOpt(dst, `,"reason":`, e.Reason)
	dst = append(dst, `,"status":`...)
	dst = appendInt(dst, int64(e.Status))
	dst = append(dst, `,"viewer_ip":`...)
	if e.ViewerIP == "" && e.Addr.IsValid() && e.Addr.Zone() == "" {
		// Digits, hex letters, dots and colons: nothing to escape.
		dst = append(e.Addr.AppendTo(append(dst, '"')), '"')
	} else {
		dst = appendString(dst, e.IP())
	}
	dst = appendOpt(dst, `,"country":`, e.Country)
	if e.ASN != 0 {
		dst = append(dst, `,"asn":`...)
		dst = strconv.AppendUint(dst, uint64(e.ASN), 10)
	}
	dst = appendOpt(dst, `,"user_agent":`, e.UserAgent)
	dst = appendOpt(dst, `,"referer":`, e.Referer)
	dst = append(dst, `,"method":`...)
	dst = appendString(dst, e.Method)
	dst = appendOpt(dst, `,"route":`, e.Route)
	dst = appendOpt(dst, `,"origin_path":`, e.OriginPath)
	dst = append(dst, `,"bytes_sent":`...)
	dst = appendInt(dst, e.BytesSent)
	if e.MediaMS != 0 {
		dst = append(dst, `,"media_ms":`...)
		dst = strconv.AppendUint(dst, uint64(e.MediaMS), 10)
	}
	dst = append(dst, `,"duration_ms":`...)
	dst = appendDurationMS(dst, e.Duration)
	dst = appendOpt(dst, `,"cache_status":`, e.CacheStatus)
	return append(dst, '}')
}

// durationMS is the access log's duration_ms: whole microseconds, in
// milliseconds.
func durationMS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// DecodeEvent reads an event written by [AppendEvent] (or by the access
// log file). Time is returned in UTC; Duration is read from duration_ms,
// to the microsecond, and DurationMS set to match, so that encoding the
// result gives the same event back. It rejects what AppendEvent could not
// have written: a time outside years 1-9999, a negative or absurd
// duration.
func DecodeEvent(b []byte) (*Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("access event: %w", err)
	}
	e.Time = e.Time.UTC()
	if y := e.Time.Year(); y < 1 || y > 9999 {
		return nil, fmt.Errorf("access event: time %d is out of range", y)
	}
	if math.IsNaN(e.DurationMS) || e.DurationMS < 0 || e.DurationMS > maxDurationMS {
		return nil, fmt.Errorf("access event: duration_ms %v is out of range", e.DurationMS)
	}
	e.Duration = time.Duration(math.Round(e.DurationMS*1000)) * time.Microsecond
	e.DurationMS = durationMS(e.Duration)
	return &e, nil
}

func appendOpt(dst []byte, key, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, key...)
	return appendString(dst, v)
}

// appendTime writes t in UTC as time.RFC3339Nano does (what
// encoding/json writes for a UTC time), without the general formatter for
// years 0 to 9999.
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, time.RFC3339Nano)
	}
	h, mi, sec := t.Clock()
	dst = append(dst,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+sec/10), byte('0'+sec%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i > 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		dst = append(dst, frac[:n]...)
	}
	return append(dst, 'Z')
}

// maxExactMS bounds the microseconds that appendDurationMS writes as
// digits: below it (4.5e12 ms, 142 years) a float64 step is finer than
// 0.001, so the shortest decimal of d.Microseconds()/1000 (what
// encoding/json writes) is the exact one.
const maxExactMS = 1 << 52

// appendDurationMS writes durationMS(d) as encoding/json writes the
// float64: from the whole microseconds, without float formatting.
func appendDurationMS(dst []byte, d time.Duration) []byte {
	us := d.Microseconds()
	if us < 0 || us >= maxExactMS {
		return appendFloat(dst, durationMS(d))
	}
	dst = appendInt(dst, us/1000)
	if f := us % 1000; f != 0 {
		dst = append(dst, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
		for dst[len(dst)-1] == '0' {
			dst = dst[:len(dst)-1]
		}
	}
	return dst
}

// appendInt is strconv.AppendInt in base 10, quicker for the small
// numbers of an event (a status, most durations).
func appendInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0 && v < 10:
		return append(dst, byte('0'+v))
	case v >= 10 && v < 100:
		return append(dst, byte('0'+v/10), byte('0'+v%10))
	case v >= 100 && v < 1000:
		return append(dst, byte('0'+v/100), byte('0'+v/10%10), byte('0'+v%10))
	}
	return strconv.AppendInt(dst, v, 10)
}

const hexDigits = "0123456789abcdef"

// plain marks the ASCII bytes that appendString copies as they are.
var plain = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// plainRun returns how many bytes at the start of s (at least one when
// the first is plain) appendString copies as they are: printable ASCII
// but quote and backslash. It tests 8 bytes at a time, with the
// "has a byte below n" and "has a zero byte" word tricks. An event's
// strings are nearly all such bytes, and testing them one at a time was
// half of AppendEvent's time (BenchmarkAppendEvent), which the edge pays
// per request when the access stream is on.
func plainRun(s string) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := load64(s, i)
		q := x ^ (ones * '"')
		bs := x ^ (ones * '\\')
		if (x|(x-ones*0x20)&^x|(q-ones)&^q|(bs-ones)&^bs)&highs != 0 {
			break
		}
	}
	for i < len(s) && s[i] < utf8.RuneSelf && plain[s[i]] {
		i++
	}
	return i
}

// load64 reads the 8 bytes of s at i as a little-endian word (the
// compiler makes it one load).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// appendString writes s as a JSON string exactly as encoding/json does
// with HTML escaping off: control characters, quote and backslash escaped,
// invalid UTF-8 replaced by \ufffd, U+2028 and U+2029 escaped.
func appendString(dst []byte, s string) []byte {
	return append(appendStringBody(append(dst, '"'), s), '"')
}

// appendStringBody is appendString without the quotes.
func appendStringBody(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if plain[b] {
				i += plainRun(s[i:])
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

// appendFloat writes f as encoding/json does (ES6 number formatting).
func appendFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}
