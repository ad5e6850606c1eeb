package accessstream

import (
	"bytes"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/smd-media/smd/internal/accesslog"
)

var binAt = time.Date(2026, 11, 22, 12, 30, 15, 123456789, time.FixedZone("CET", 3600))

// binaryCases are events to encode as records; the fuzz target starts
// from them too.
var binaryCases = []struct {
	name string
	ev   accesslog.Event
}{
	{"minimal", accesslog.Event{Time: binAt, EdgeID: "e1", RequestID: "r1", Verdict: "rejected", Status: 405, ViewerIP: "198.51.100.1", Method: "POST"}},
	{"all fields", accesslog.Event{Time: binAt, EdgeID: "edge-1", RequestID: "abc-1", SessionID: "S1", KeyID: "k1",
		Verdict: "allow", Reason: "", Status: 206, ViewerIP: "2001:db8::1", Country: "FR", UserAgent: "Mozilla/5.0 (X11)",
		Referer: "https://portal.example.com/watch?v=1&t=2", Method: "GET", Route: "/vod/", OriginPath: "/vod/a/seg-1.ts",
		BytesSent: 1 << 20, Duration: 1500 * time.Microsecond, CacheStatus: "hit"}},
	{"unproven session", accesslog.Event{Time: binAt, EdgeID: "e1", RequestID: "r2", SessionID: "victim1", SessionUnproven: true,
		KeyID: "k1", Verdict: "allow", Status: 200, ViewerIP: "198.51.100.9", Method: "GET", OriginPath: "/ads/a.ts"}},
	{"segment with its media duration", accesslog.Event{Time: binAt, EdgeID: "e1", RequestID: "r3", SessionID: "s1",
		Verdict: "allow", Status: 200, ViewerIP: "198.51.100.9", Method: "GET", OriginPath: "/live/a/seg-0-9.m4s", MediaMS: 2002}},
	{"unproven, with a media duration", accesslog.Event{Time: binAt, SessionID: "s1", SessionUnproven: true, Method: "GET", MediaMS: math.MaxUint32}},
	{"with an ASN", accesslog.Event{Time: binAt, SessionID: "s1", Method: "GET", ViewerIP: "192.0.2.1", Country: "DE", ASN: 64500}},
	{"everything optional", accesslog.Event{Time: binAt, SessionID: "s1", SessionUnproven: true, Method: "GET", MediaMS: 2000, ASN: math.MaxUint32}},
	{"binary id and ipv4", accesslog.Event{Time: binAt, EdgeID: "e1", RequestPrefix: "m1abc-", RequestSeq: 123456789,
		Addr: netip.MustParseAddr("198.51.100.7"), Method: "GET"}},
	{"binary ipv6, largest sequence", accesslog.Event{Time: binAt, RequestPrefix: "x", RequestSeq: math.MaxUint64,
		Addr: netip.MustParseAddr("2001:db8::7"), Method: "GET"}},
	{"binary ipv4-mapped ipv6", accesslog.Event{Time: binAt, RequestPrefix: "x", Addr: netip.MustParseAddr("::ffff:192.0.2.1"), Method: "GET"}},
	{"address with a zone", accesslog.Event{Time: binAt, Addr: netip.MustParseAddr("fe80::1%eth0"), Method: "GET"}},
	{"strings win over binary forms", accesslog.Event{Time: binAt, RequestID: "r1", RequestPrefix: "x-", RequestSeq: 9,
		ViewerIP: "192.0.2.1", Addr: netip.MustParseAddr("198.51.100.7"), Method: "GET"}},
	{"html, quotes, controls", accesslog.Event{Time: binAt, EdgeID: "e<1>", RequestID: `r"1"`, UserAgent: "a\\b<script>\x00\n\u2028", Method: "GET"}},
	{"invalid utf-8", accesslog.Event{Time: binAt, UserAgent: "caf\xe9 \xff\xfe", Referer: "\xc3", Method: "GET"}},
	{"zero time and duration", accesslog.Event{Method: "HEAD"}},
	{"year 9999, long duration", accesslog.Event{Time: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		Duration: 36*time.Hour + 7*time.Microsecond + 999*time.Nanosecond, Method: "GET"}},
	{"negative numbers", accesslog.Event{Time: binAt, Status: -1, BytesSent: -5, Method: "GET"}},
	{"a record longer than 127 bytes", accesslog.Event{Time: binAt, UserAgent: strings.Repeat("u", 200), Method: "GET"}},
	{"a record longer than 16 KiB", accesslog.Event{Time: binAt, Referer: strings.Repeat("r", 20000), Method: "GET"}},
}

// decodeOne decodes a batch that must hold exactly one valid event.
func decodeOne(t testing.TB, b []byte) *accesslog.Event {
	t.Helper()
	var got []*accesslog.Event
	ok, bad, err := DecodeBinaryBatch(b, func(e *accesslog.Event) { got = append(got, e) })
	if ok != 1 || bad != 0 || err != nil {
		t.Fatalf("%d ok, %d bad, %v", ok, bad, err)
	}
	return got[0]
}

// TestBinaryRecordMatchesJSON: an event through a record decodes to the
// event the JSON lines format gives: the JSON encoding of both is the same
// bytes, so exports and the detector cannot tell the formats apart.
func TestBinaryRecordMatchesJSON(t *testing.T) {
	for _, tc := range binaryCases {
		t.Run(tc.name, func(t *testing.T) {
			got := decodeOne(t, binaryBatch(&tc.ev))
			if got.Time.Location() != time.UTC {
				t.Errorf("time in %v", got.Time.Location())
			}
			want := accesslog.AppendEvent(nil, &tc.ev)
			if j := accesslog.AppendEvent(nil, got); !bytes.Equal(j, want) {
				t.Fatalf("through a record:\n%s\ndirect:\n%s", j, want)
			}
			if got.RequestPrefix != "" || got.Addr.IsValid() || got.DurationMS != float64(got.Duration.Microseconds())/1000 {
				t.Fatalf("not expanded: %+v", got)
			}
		})
	}
}

// TestBinaryRecordNegativeDuration: a negative duration (never measured,
// but possible in an Event) is written as 0, not as something the decoder
// refuses.
func TestBinaryRecordNegativeDuration(t *testing.T) {
	got := decodeOne(t, binaryBatch(&accesslog.Event{Time: binAt, Duration: -time.Second}))
	if got.Duration != 0 {
		t.Fatalf("duration %v", got.Duration)
	}
}

// TestBinaryRecordPrefixesRejected: every prefix of a record's body that
// ends before cache_status is refused (each field's absence is noticed);
// the flags after it are optional, as records of earlier versions lack
// them; bytes after the flags are ignored (room for later fields).
func TestBinaryRecordPrefixesRejected(t *testing.T) {
	for _, tc := range binaryCases {
		rec := appendRecord(nil, &tc.ev)
		_, k := uvarintLen(rec)
		body := rec[k:]
		// The optional tail: flags and media_ms.
		bare := tc.ev
		bare.SessionUnproven, bare.MediaMS, bare.ASN = false, 0, 0
		brec := appendRecord(nil, &bare)
		_, bk := uvarintLen(brec)
		flags := len(body) - len(brec[bk:])
		if flags > 0 {
			e, err := decodeRecord(body[:len(body)-flags])
			if err != nil || !bytes.Equal(accesslog.AppendEvent(nil, e), accesslog.AppendEvent(nil, &bare)) {
				t.Fatalf("%s without its flags: %+v, %v", tc.name, e, err)
			}
		}
		for n := range len(body) - flags {
			if e, err := decodeRecord(body[:n]); err == nil {
				t.Fatalf("%s: a prefix of %d of %d bytes decoded: %+v", tc.name, n, len(body), e)
			}
		}
		withFlags := bytes.Clone(body)
		switch {
		case flags == 0:
			withFlags = append(withFlags, 0, 0, 0) // flags, none set; media_ms and asn 0
		case tc.ev.ASN == 0:
			withFlags = append(withFlags, 0) // asn 0
		}
		e, err := decodeRecord(append(withFlags, 1, 2, 3))
		if err != nil {
			t.Fatalf("%s with trailing bytes: %v", tc.name, err)
		}
		if !bytes.Equal(accesslog.AppendEvent(nil, e), accesslog.AppendEvent(nil, &tc.ev)) {
			t.Fatalf("%s with trailing bytes: %+v", tc.name, e)
		}
	}
}

// uvarintLen returns the value and length of the uvarint starting b.
func uvarintLen(b []byte) (uint64, int) {
	var v uint64
	for i, c := range b {
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1
		}
	}
	return v, 0
}

func TestBinaryRecordRejects(t *testing.T) {
	good := appendRecord(nil, &accesslog.Event{Time: binAt, Method: "GET"})
	_, k := uvarintLen(good)
	body := good[k:]
	// body: time (sec 5 bytes, nsec 4 bytes), edge_id len 0, id kind, ...
	for _, tc := range []struct {
		name string
		rec  []byte
	}{
		{"empty", nil},
		{"nanoseconds past a second", append([]byte{0, 0x80, 0x94, 0xeb, 0xdc, 0x03}, body[9:]...)},
		{"year 0", append(append([]byte{}, appendVarint(minUnix-1)...), body[5:]...)},
		{"year 10000", append(append([]byte{}, appendVarint(maxUnix+1)...), body[5:]...)},
		{"unknown request id kind", replaceAt(body, 10, 7)},
		{"unknown address kind", replaceAt(body, 10+1+1+4+1, 5)},
		{"string past the end", replaceAt(body, 9, 100)},
		{"overlong varint", append(bytes.Repeat([]byte{0xff}, 11), body...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if e, err := decodeRecord(tc.rec); err == nil {
				t.Fatalf("accepted: %+v", e)
			}
		})
	}
	// The checks above change what they mean to change: the body itself
	// decodes.
	if _, err := decodeRecord(body); err != nil {
		t.Fatal(err)
	}
	if _, err := decodeRecord(replaceAt(body, 10, idString)); err != nil {
		t.Fatal("the request id kind is not where the test expects it")
	}
}

func appendVarint(v int64) []byte {
	var b []byte
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

func replaceAt(b []byte, i int, v byte) []byte {
	c := bytes.Clone(b)
	c[i] = v
	return c
}

// FuzzDecodeBinaryBatch: DecodeBinaryBatch never panics and accounts for
// every record; the events it accepts, encoded again, decode to the same
// events, and that encoding is a fixed point.
func FuzzDecodeBinaryBatch(f *testing.F) {
	var all []*accesslog.Event
	for _, tc := range binaryCases {
		all = append(all, &tc.ev)
		f.Add(binaryBatch(&tc.ev))
	}
	f.Add(binaryBatch(all...))
	f.Add(binaryBatch(all[0], nil, all[1]))
	f.Add(binaryMagic[:])
	f.Fuzz(func(t *testing.T, b []byte) {
		var evs []*accesslog.Event
		ok, bad, err := DecodeBinaryBatch(b, func(e *accesslog.Event) { evs = append(evs, e) })
		if !isBinary(b) {
			if ok != 0 || bad != 1 || err == nil {
				t.Fatalf("not binary: %d ok, %d bad, %v", ok, bad, err)
			}
			return
		}
		if ok+bad != binaryRecords(b) || ok != len(evs) || (bad == 0) != (err == nil) {
			t.Fatalf("%d ok + %d bad for %d records (%v)", ok, bad, binaryRecords(b), err)
		}
		enc := binaryBatch(evs...)
		var again []*accesslog.Event
		ok2, bad2, err := DecodeBinaryBatch(enc, func(e *accesslog.Event) { again = append(again, e) })
		if ok2 != ok || bad2 != 0 || err != nil {
			t.Fatalf("re-decoding: %d ok, %d bad, %v", ok2, bad2, err)
		}
		for i := range evs {
			if *again[i] != *evs[i] {
				t.Fatalf("event %d:\n%+v\n%+v", i, again[i], evs[i])
			}
		}
		if enc2 := binaryBatch(again...); !bytes.Equal(enc, enc2) {
			t.Fatalf("not a fixed point:\n%x\n%x", enc, enc2)
		}
	})
}

// BenchmarkAppendRecord is the encoding Log does on the request path, for
// the event of accesslog's BenchmarkAppendEvent.
func BenchmarkAppendRecord(b *testing.B) {
	e := &accesslog.Event{Time: binAt, EdgeID: "edge-1", RequestPrefix: "m1abc-", RequestSeq: 1 << 40, SessionID: "6f1c2a9e-3b7d-4c55-9a21-0d8e7f6b5c43",
		KeyID: "k2026-11", Verdict: accesslog.VerdictAllow, Status: 200, Addr: netip.MustParseAddr("198.51.100.7"), Country: "FR",
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		Referer:   "https://www.example.com/watch/12345", Method: "GET", Route: "/vod/",
		OriginPath: "/vod/big-buck-bunny/1080p/segment-00042.m4s", BytesSent: 1 << 20, Duration: 1234 * time.Microsecond, CacheStatus: "hit"}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendRecord(buf[:0], e)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkDecodeMessage is the consumer's decoding of a batch of 128
// events, in each format; ns/op is per event.
func BenchmarkDecodeMessage(b *testing.B) {
	evs := make([]*accesslog.Event, 128)
	for i := range evs {
		evs[i] = event(i, "session-"+strings.Repeat("x", i%7))
		evs[i].UserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	}
	for _, f := range []struct {
		name string
		body []byte
		h    nats.Header
	}{
		{"format=3-binary", binaryBatch(evs...), binaryHeader(len(evs))},
		{"format=2-json", appendBatch(nil, evs...), batchHeader(len(evs))},
	} {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(f.body) / len(evs)))
			for i := 0; b.Loop(); i++ {
				if i%len(evs) != 0 {
					continue
				}
				if ok, _, _ := DecodeMessage(f.h, f.body, func(*accesslog.Event) {}); ok != len(evs) {
					b.Fatal(ok)
				}
			}
		})
	}
}
