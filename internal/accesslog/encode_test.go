package accesslog

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var at = time.Date(2026, 11, 22, 12, 30, 15, 123456789, time.FixedZone("CET", 3600))

// encodeCases are events to encode; the fuzz target starts from them too.
var encodeCases = []struct {
	name string
	ev   Event
}{
	{"minimal", Event{Time: at, EdgeID: "e1", RequestID: "r1", Verdict: "rejected", Status: 405, ViewerIP: "198.51.100.1", Method: "POST"}},
	{"all fields", Event{Time: at, EdgeID: "edge-1", RequestID: "abc-1", SessionID: "S1", KeyID: "k1",
		Verdict: "allow", Reason: "", Status: 206, ViewerIP: "2001:db8::1", Country: "FR", UserAgent: "Mozilla/5.0 (X11)",
		Referer: "https://portal.example.com/watch?v=1&t=2", Method: "GET", Route: "/vod/", OriginPath: "/vod/a/seg-1.ts",
		BytesSent: 1 << 20, Duration: 1500 * time.Microsecond, CacheStatus: "hit"}},
	{"unproven session", Event{Time: at, EdgeID: "e1", RequestID: "r2", SessionID: "victim1", SessionUnproven: true, KeyID: "k1",
		Verdict: "allow", Status: 200, ViewerIP: "198.51.100.9", Method: "GET", OriginPath: "/ads/a.ts"}},
	{"asn", Event{Time: at, EdgeID: "e1", RequestID: "r4", SessionID: "s1", Verdict: "allow", Status: 200,
		ViewerIP: "198.51.100.9", Country: "DE", ASN: 64500, Method: "GET"}},
	{"media duration", Event{Time: at, EdgeID: "e1", RequestID: "r3", SessionID: "s1", Verdict: "allow", Status: 200,
		ViewerIP: "198.51.100.9", Method: "GET", OriginPath: "/live/a/seg-0-9.m4s", BytesSent: 4096, MediaMS: 2002}},
	{"html and quotes", Event{Time: at, EdgeID: "e<1>", RequestID: `r"1"`, UserAgent: `a\b<script>&amp;`, Method: "GET", Verdict: "deny", Reason: "expired"}},
	{"control characters", Event{Time: at, UserAgent: "a\x00b\x01\b\f\n\r\t\x1f\x7f", Method: "GET"}},
	{"invalid utf-8", Event{Time: at, UserAgent: "caf\xe9 \xff\xfe", Referer: "\xc3", Method: "GET"}},
	{"line separators", Event{Time: at, UserAgent: "a\u2028b\u2029c é 日本 🎬", Method: "GET"}},
	{"zero time and duration", Event{Method: "HEAD"}},
	{"long duration", Event{Time: at, Duration: 36*time.Hour + 7*time.Microsecond + 999*time.Nanosecond, Method: "GET"}},
	{"sub-microsecond duration", Event{Time: at, Duration: 999 * time.Nanosecond, Method: "GET"}},
	{"negative numbers", Event{Time: at, Status: -1, BytesSent: -5, Method: "GET"}},
	{"binary id and ipv4", Event{Time: at, EdgeID: "e1", RequestPrefix: "m1abc-", RequestSeq: 123456789,
		Addr: netip.MustParseAddr("198.51.100.7"), Method: "GET"}},
	{"binary ipv6 and largest sequence", Event{Time: at, RequestPrefix: "x", RequestSeq: math.MaxUint64,
		Addr: netip.MustParseAddr("2001:db8::7"), Method: "GET"}},
	{"binary ipv4-mapped ipv6", Event{Time: at, RequestPrefix: "x", Addr: netip.MustParseAddr("::ffff:192.0.2.1"), Method: "GET"}},
	{"binary forms to escape", Event{Time: at, RequestPrefix: "p\"<\x01", RequestSeq: 35,
		Addr: netip.MustParseAddr("fe80::1%e\"t\\h0"), Method: "GET"}},
	{"strings win over binary forms", Event{Time: at, RequestID: "r1", RequestPrefix: "x-", RequestSeq: 9,
		ViewerIP: "192.0.2.1", Addr: netip.MustParseAddr("198.51.100.7"), Method: "GET"}},
	{"sequence without prefix", Event{Time: at, RequestSeq: 9, Method: "GET"}},
}

// logged is e as the access log file writes it.
func logged(e Event) Event {
	e.Expand()
	e.DurationMS = float64(e.Duration.Microseconds()) / 1000
	e.Time = e.Time.UTC()
	return e
}

func TestAppendEventMatchesEncodingJSON(t *testing.T) {
	for _, tc := range encodeCases {
		t.Run(tc.name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			e := logged(tc.ev)
			if err := enc.Encode(&e); err != nil {
				t.Fatal(err)
			}
			got := AppendEvent(nil, &tc.ev)
			if string(got) != strings.TrimSuffix(want.String(), "\n") {
				t.Fatalf("AppendEvent:\n%s\nencoding/json:\n%s", got, want.String())
			}
		})
	}
}

func TestDecodeEventRoundTrip(t *testing.T) {
	for _, tc := range encodeCases {
		t.Run(tc.name, func(t *testing.T) {
			b := AppendEvent(nil, &tc.ev)
			got, err := DecodeEvent(b)
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			want := logged(tc.ev)
			want.Duration = want.Duration.Truncate(time.Microsecond)
			want.UserAgent, want.Referer = validUTF8(want.UserAgent), validUTF8(want.Referer)
			if d := diffEvents(got, &want); d != "" {
				t.Fatal(d)
			}
			// Invalid UTF-8 is replaced on the first trip; then the
			// encoding is a fixed point.
			again := AppendEvent(nil, got)
			if !utf8.ValidString(tc.ev.UserAgent+tc.ev.Referer) || bytes.Equal(again, b) {
				return
			}
			t.Fatalf("re-encoded differently:\n%s\n%s", b, again)
		})
	}
}

// validUTF8 replaces each invalid byte by U+FFFD, as JSON encoding does.
func validUTF8(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r) // an invalid byte ranges as utf8.RuneError
	}
	return b.String()
}

func TestDecodeEventReadsTheAccessLogFile(t *testing.T) {
	// A line as internal/accesslog writes it.
	line := `{"time":"2026-11-22T11:00:00Z","edge_id":"e1","request_id":"","session_id":"S1","verdict":"allow","status":200,"viewer_ip":"198.51.100.10","method":"GET","origin_path":"/vod/a<b>.ts","bytes_sent":1024,"duration_ms":1.5}`
	e, err := DecodeEvent([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if e.SessionID != "S1" || e.Duration != 1500*time.Microsecond || e.OriginPath != "/vod/a<b>.ts" || !e.Time.Equal(time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v", e)
	}
}

func TestDecodeEventRejects(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{"not json", `{"time":`},
		{"array", `[]`},
		{"string status", `{"status":"200"}`},
		{"float bytes", `{"bytes_sent":1.5}`},
		{"bad time", `{"time":"yesterday"}`},
		{"year 0 after utc", `{"time":"0001-01-01T00:30:00+01:00"}`},
		{"negative duration", `{"time":"2026-01-01T00:00:00Z","duration_ms":-1}`},
		{"huge duration", `{"time":"2026-01-01T00:00:00Z","duration_ms":1e300}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if e, err := DecodeEvent([]byte(tc.in)); err == nil {
				t.Fatalf("accepted: %+v", e)
			}
		})
	}
}

// diffEvents describes how a differs from b ("" when equal).
func diffEvents(a, b *Event) string {
	if !a.Time.Equal(b.Time) || a.Time.Location() != time.UTC {
		return "time " + a.Time.String() + " != " + b.Time.String()
	}
	x, y := *a, *b
	x.Time, y.Time = time.Time{}, time.Time{}
	if x != y {
		xb, _ := json.Marshal(struct {
			E Event
			D time.Duration
		}{x, x.Duration})
		yb, _ := json.Marshal(struct {
			E Event
			D time.Duration
		}{y, y.Duration})
		return "got  " + string(xb) + "\nwant " + string(yb)
	}
	return ""
}

// FuzzDecodeEvent: DecodeEvent never panics; what it accepts encodes to
// bytes that decode to the same event and re-encode identically (a fixed
// point), so nothing is lost between the stream, the spool and exports.
func FuzzDecodeEvent(f *testing.F) {
	for _, tc := range encodeCases {
		f.Add(AppendEvent(nil, &tc.ev))
	}
	f.Add([]byte(`{"time":"2026-11-22T11:00:00+14:00","duration_ms":0.0005}`))
	f.Add([]byte(`{"TIME":"2026-11-22T11:00:00Z","Session_ID":"x","user_agent":"\ud800"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEvent(b)
		if err != nil {
			return
		}
		enc := AppendEvent(nil, e)
		e2, err := DecodeEvent(enc)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", enc, err)
		}
		if d := diffEvents(e2, e); d != "" {
			t.Fatalf("%s\n%s", enc, d)
		}
		if enc2 := AppendEvent(nil, e2); !bytes.Equal(enc, enc2) {
			t.Fatalf("not a fixed point:\n%s\n%s", enc, enc2)
		}
	})
}

// TestAppendEventNumbersAndTimes: the hand-written time, duration and
// integer formatting equals encoding/json's over random values, the
// bounds of the fast paths and the years the fast path leaves out.
func TestAppendEventNumbersAndTimes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(e Event) {
		t.Helper()
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		l := logged(e)
		if err := enc.Encode(&l); err != nil {
			return // a time encoding/json cannot write (year past 9999)
		}
		if got := AppendEvent(nil, &e); string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Fatalf("AppendEvent:\n%s\nencoding/json:\n%s", got, want.String())
		}
	}
	durations := []time.Duration{0, time.Microsecond, 999 * time.Microsecond, time.Millisecond, 1001 * time.Microsecond,
		-time.Microsecond, -1500 * time.Microsecond, time.Duration(maxExactMS-1) * time.Microsecond,
		time.Duration(maxExactMS) * time.Microsecond, time.Duration(maxExactMS+1) * time.Microsecond, math.MaxInt64, math.MinInt64}
	ints := []int64{0, 9, 10, 99, 100, 999, 1000, -1, -10, -1000, math.MaxInt64, math.MinInt64}
	times := []time.Time{{}, time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(2026, 11, 22, 12, 0, 0, 100, time.FixedZone("x", -7*3600))}
	for i := range 20000 {
		e := Event{Method: "GET",
			Time:      time.Unix(rng.Int64N(253402300800)-62135596800, rng.Int64N(1e9)).In(time.FixedZone("", 3600*(i%5))),
			Duration:  time.Duration(rng.Int64N(1<<(i%62+1)) - rng.Int64N(2)*rng.Int64N(1<<20)),
			Status:    int(rng.Int64N(1000)) - 5,
			BytesSent: rng.Int64N(1 << (i % 63)),
		}
		if i%10 == 0 { // fractions with trailing zeros
			e.Time = e.Time.Truncate([]time.Duration{time.Second, time.Millisecond, time.Microsecond, 10 * time.Nanosecond}[i/10%4])
		}
		if i < len(durations) {
			e.Duration = durations[i]
		}
		if i < len(ints) {
			e.Status, e.BytesSent = int(ints[i]), ints[len(ints)-1-i]
		}
		if i < len(times) {
			e.Time = times[i]
		}
		check(e)
	}
}

// BenchmarkAppendEvent is the encoding of a typical event of a player in
// a browser, with the request id and address in binary form as the edge
// gives them.
func BenchmarkAppendEvent(b *testing.B) {
	e := &Event{Time: at, EdgeID: "edge-1", RequestPrefix: "m1abc-", RequestSeq: 1 << 40, SessionID: "6f1c2a9e-3b7d-4c55-9a21-0d8e7f6b5c43",
		KeyID: "k2026-11", Verdict: VerdictAllow, Status: 200, Addr: netip.MustParseAddr("198.51.100.7"), Country: "FR",
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		Referer:   "https://www.example.com/watch/12345", Method: "GET", Route: "/vod/",
		OriginPath: "/vod/big-buck-bunny/1080p/segment-00042.m4s", BytesSent: 1 << 20, Duration: 1234 * time.Microsecond, CacheStatus: "hit"}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendEvent(buf[:0], e)
	}
	b.SetBytes(int64(len(buf)))
}

func TestEventBinaryForms(t *testing.T) {
	v4 := netip.MustParseAddr("192.0.2.1")
	for _, tc := range []struct {
		name     string
		ev       Event
		id, addr string
	}{
		{"strings", Event{RequestID: "r", ViewerIP: "198.51.100.1"}, "r", "198.51.100.1"},
		{"binary", Event{RequestPrefix: "abc-", RequestSeq: 36*36 + 35, Addr: v4}, "abc-10z", "192.0.2.1"},
		{"strings first", Event{RequestID: "r", RequestPrefix: "abc-", ViewerIP: "198.51.100.1", Addr: v4}, "r", "198.51.100.1"},
		{"no prefix: no id", Event{RequestSeq: 7}, "", ""},
		{"nothing", Event{}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ev.ID(); got != tc.id {
				t.Errorf("ID() = %q, want %q", got, tc.id)
			}
			if got := tc.ev.IP(); got != tc.addr {
				t.Errorf("IP() = %q, want %q", got, tc.addr)
			}
			e := tc.ev
			e.Expand()
			if e.RequestID != tc.id || e.ViewerIP != tc.addr || e.RequestPrefix != "" || e.RequestSeq != 0 || e.Addr.IsValid() {
				t.Errorf("Expand() = %+v", e)
			}
		})
	}
}
