package accessstream

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/smd-media/smd/internal/accesslog"
)

// A message of the access stream is a batch: the events of one
// partition, with the headers
//
//	Nats-Msg-Id  <edge id>:<sequence>, one sequence per batch
//	Smd-Format   3 (binary records) or 2 (JSON lines)
//	Smd-Events   the number of events
//
// The body says its format itself: a binary batch starts with two bytes
// that no JSON lines batch can start with (see binary.go). Edges publish
// format 3. Format 2, JSON lines each encoded by [accesslog.AppendEvent]
// and followed by a newline, is what edges before it published (and what
// their spools may still hold); it is read all the same, so that edges
// and control planes can be upgraded in any order. Format 1, one event per
// message without the two smd headers, was never released; its body is a
// one-line JSON batch, so it is read too.
const (
	// HeaderFormat names the format version of a message.
	HeaderFormat = "Smd-Format"
	// HeaderEvents holds the number of events in a message.
	HeaderEvents = "Smd-Events"
	// FormatBatch is the version of the JSON lines batch format.
	FormatBatch = "2"
)

// The header values of the two formats, shared by every message published.
var (
	formatBatch  = []string{FormatBatch}
	formatBinary = []string{FormatBinary}
)

// batchFormat is the Smd-Format header of a batch body.
func batchFormat(b []byte) []string {
	if isBinary(b) {
		return formatBinary
	}
	return formatBatch
}

// ErrFormat is returned by [DecodeMessage] for a message in a format this
// version does not read.
var ErrFormat = errors.New("access stream: unknown message format")

// MessageEvents is the number of events a message holds: its Smd-Events
// header, or else the number of records or lines of its body.
func MessageEvents(h nats.Header, body []byte) int {
	if v := h.Get(HeaderEvents); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return n
		}
	}
	return batchEvents(body)
}

// batchEvents is the number of events of a batch body: its records, or
// its lines.
func batchEvents(b []byte) int {
	if isBinary(b) {
		return binaryRecords(b)
	}
	return countLines(b)
}

// countLines is the number of lines of a batch: newline-terminated, the
// last one possibly not.
func countLines(b []byte) int {
	n := bytes.Count(b, []byte{'\n'})
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// DecodeMessage hands fn the events of a message of the access stream, in
// order (each event is fn's to keep), and returns how many it handed over
// and how many it could not: records or lines that are not valid events,
// and events missing when the body has fewer than Smd-Events says. err is nil
// when bad is 0, else the first problem met. A message in a format this
// version does not read (or with an empty body) delivers nothing: bad is
// then [MessageEvents] (at least 1) and err wraps [ErrFormat].
func DecodeMessage(h nats.Header, body []byte, fn func(*accesslog.Event)) (ok, bad int, err error) {
	if f := h.Get(HeaderFormat); f != "" && f != FormatBatch && f != FormatBinary {
		return 0, max(1, MessageEvents(h, body)), fmt.Errorf("%w: %s %q", ErrFormat, HeaderFormat, f)
	}
	if len(body) == 0 {
		return 0, max(1, MessageEvents(h, body)), fmt.Errorf("%w: empty message", ErrFormat)
	}
	if isBinary(body) {
		ok, bad, err = DecodeBinaryBatch(body, fn)
	} else {
		ok, bad, err = DecodeBatch(body, fn)
	}
	if want, held := MessageEvents(h, body), ok+bad; want > held {
		bad += want - held
		if err == nil {
			err = fmt.Errorf("access stream: %s says %d events, the message holds %d", HeaderEvents, want, held)
		}
	}
	return ok, bad, err
}

// DecodeBatch hands fn the events of a batch body (JSON lines), in order,
// skipping the lines that are not valid events (see [accesslog.DecodeEvent]), and
// returns how many lines it handed over and how many it skipped, with the
// first error met. A final newline ends the last line; an empty line is
// not a valid event.
func DecodeBatch(b []byte, fn func(*accesslog.Event)) (ok, bad int, err error) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		e, derr := accesslog.DecodeEvent(line)
		if derr != nil {
			if err == nil {
				err = fmt.Errorf("line %d: %w", ok+bad+1, derr)
			}
			bad++
			continue
		}
		fn(e)
		ok++
	}
	return ok, bad, err
}
