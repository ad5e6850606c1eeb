package accessstream

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/smd-media/smd/internal/accesslog"
)

// appendBatch encodes evs as a batch body; a nil event stands for a line
// that is not an event.
func appendBatch(dst []byte, evs ...*accesslog.Event) []byte {
	for _, e := range evs {
		if e == nil {
			dst = append(dst, `{"status":"not a number"}`...)
		} else {
			dst = accesslog.AppendEvent(dst, e)
		}
		dst = append(dst, '\n')
	}
	return dst
}

// binaryBatch encodes evs as a binary batch body; a nil event stands for
// a record that is not an event (a length and one byte of an unknown
// request id kind after a valid time).
func binaryBatch(evs ...*accesslog.Event) []byte {
	dst := binaryMagic[:]
	dst = dst[:len(dst):len(dst)]
	for _, e := range evs {
		if e == nil {
			dst = append(dst, 5, 0, 0, 1, 'e', 9)
		} else {
			dst = appendRecord(dst, e)
		}
	}
	return dst
}

func binaryHeader(n int) nats.Header {
	return nats.Header{HeaderFormat: []string{FormatBinary}, HeaderEvents: []string{strconv.Itoa(n)}}
}

func batchHeader(n int) nats.Header {
	return nats.Header{HeaderFormat: []string{FormatBatch}, HeaderEvents: []string{strconv.Itoa(n)}}
}

func TestDecodeMessage(t *testing.T) {
	e0, e1, e2 := event(0, "S"), event(1, "S"), event(2, "S")
	for _, tc := range []struct {
		name    string
		h       nats.Header
		body    []byte
		want    []string // request ids delivered
		bad     int
		wantErr error
	}{
		{"batch", batchHeader(3), appendBatch(nil, e0, e1, e2), []string{"r0", "r1", "r2"}, 0, nil},
		{"one bad line: the others delivered", batchHeader(3), appendBatch(nil, e0, nil, e2), []string{"r0", "r2"}, 1, nil},
		{"no final newline", batchHeader(2), bytes.TrimSuffix(appendBatch(nil, e0, e1), []byte("\n")), []string{"r0", "r1"}, 0, nil},
		{"empty line", batchHeader(3), append(append(appendBatch(nil, e0), '\n'), appendBatch(nil, e1)...), []string{"r0", "r1"}, 1, nil},
		{"fewer lines than the header says", batchHeader(4), appendBatch(nil, e0, e1), []string{"r0", "r1"}, 2, nil},
		{"format 1: one event, no headers", nil, accesslog.AppendEvent(nil, e0), []string{"r0"}, 0, nil},
		{"format 1, not an event", nats.Header{}, []byte(`{"time":`), nil, 1, nil},
		{"unknown format", nats.Header{HeaderFormat: []string{"4"}, HeaderEvents: []string{"5"}}, appendBatch(nil, e0), nil, 5, ErrFormat},
		{"binary", binaryHeader(3), binaryBatch(e0, e1, e2), []string{"r0", "r1", "r2"}, 0, nil},
		{"binary, one bad record: the others delivered", binaryHeader(3), binaryBatch(e0, nil, e2), []string{"r0", "r2"}, 1, nil},
		{"binary, a record runs past the body", binaryHeader(2), binaryBatch(e0, e1)[:len(binaryBatch(e0, e1))-1], []string{"r0"}, 1, nil},
		{"binary, fewer records than the header says", binaryHeader(4), binaryBatch(e0, e1), []string{"r0", "r1"}, 2, nil},
		{"binary, no header", nil, binaryBatch(e0, e1), []string{"r0", "r1"}, 0, nil},
		{"the body's format wins over the header's", batchHeader(1), binaryBatch(e0), []string{"r0"}, 0, nil},
		{"binary, magic only", binaryHeader(1), binaryBatch(), nil, 1, nil},
		{"empty body", batchHeader(0), nil, nil, 1, ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			ok, bad, err := DecodeMessage(tc.h, tc.body, func(e *accesslog.Event) { got = append(got, e.RequestID) })
			if !slices.Equal(got, tc.want) || ok != len(tc.want) || bad != tc.bad || (bad == 0) != (err == nil) {
				t.Fatalf("delivered %v (%d), bad %d, err %v; want %v, bad %d", got, ok, bad, err, tc.want, tc.bad)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestMessageEvents(t *testing.T) {
	body := appendBatch(nil, event(0, "S"), event(1, "S"))
	if n := MessageEvents(batchHeader(7), body); n != 7 {
		t.Errorf("with the header: %d", n)
	}
	if n := MessageEvents(nil, body); n != 2 {
		t.Errorf("without the header: %d", n)
	}
	if n := MessageEvents(nil, bytes.TrimSuffix(body, []byte("\n"))); n != 2 {
		t.Errorf("without a final newline: %d", n)
	}
	if n := MessageEvents(nats.Header{HeaderEvents: []string{"-1"}}, nil); n != 0 {
		t.Errorf("bad header, empty body: %d", n)
	}
	e := event(0, "S")
	if n := MessageEvents(nil, binaryBatch(e, nil, e)); n != 3 {
		t.Errorf("binary batch without header: %d", n)
	}
	if n := MessageEvents(nil, binaryBatch(e, e)[:20]); n != 1 {
		t.Errorf("binary batch cut short: %d", n)
	}
}

// diffEvents describes how a differs from b ("" when equal), by their
// encodings: accesslog's FuzzDecodeEvent holds the encoding to be a fixed
// point of decoding, so equal encodings mean equal events as the stream
// carries them.
func diffEvents(a, b *accesslog.Event) string {
	x, y := accesslog.AppendEvent(nil, a), accesslog.AppendEvent(nil, b)
	if bytes.Equal(x, y) {
		return ""
	}
	return "got  " + string(x) + "\nwant " + string(y)
}

// FuzzDecodeBatch: DecodeBatch never panics and accounts for every line;
// the events it accepts, encoded again as a batch, decode to the same
// events with no bad line, and that encoding is a fixed point.
func FuzzDecodeBatch(f *testing.F) {
	at := time.Date(2026, 11, 22, 12, 30, 15, 123456789, time.UTC)
	all := []*accesslog.Event{
		event(1, "S1"),
		{Time: at, EdgeID: "e<1>", RequestID: `r"1"`, UserAgent: "a\x00b\n\u2028 caf\xe9", Method: "GET", Verdict: "deny", Reason: "expired"},
		{Method: "HEAD"},
	}
	for _, e := range all {
		f.Add(appendBatch(nil, e))
	}
	f.Add(appendBatch(nil, all...))
	f.Add(appendBatch(nil, all[0], nil, all[1]))
	f.Add([]byte("\n\n{}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var evs []*accesslog.Event
		ok, bad, err := DecodeBatch(b, func(e *accesslog.Event) { evs = append(evs, e) })
		if ok+bad != countLines(b) || ok != len(evs) || (bad == 0) != (err == nil) {
			t.Fatalf("%d ok + %d bad for %d lines (%v)", ok, bad, countLines(b), err)
		}
		enc := appendBatch(nil, evs...)
		var again []*accesslog.Event
		ok2, bad2, err := DecodeBatch(enc, func(e *accesslog.Event) { again = append(again, e) })
		if ok2 != ok || bad2 != 0 || err != nil {
			t.Fatalf("re-decoding %q: %d ok, %d bad, %v", enc, ok2, bad2, err)
		}
		for i := range evs {
			if d := diffEvents(again[i], evs[i]); d != "" {
				t.Fatalf("event %d: %s", i, d)
			}
		}
		if enc2 := appendBatch(nil, again...); !bytes.Equal(enc, enc2) {
			t.Fatalf("not a fixed point:\n%s\n%s", enc, enc2)
		}
	})
}
