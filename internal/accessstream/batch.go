package accessstream

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/smd-media/smd/internal/accesslog"
)

// A message of the access stream is a batch: the events of one partition,
// each encoded by [accesslog.AppendEvent] and followed by a newline (JSON lines), with
// the headers
//
//	Nats-Msg-Id  <edge id>:<sequence>, one sequence per batch
//	Smd-Format   2
//	Smd-Events   the number of events (lines)
//
// Format 1, one event per message without these two headers, was never
// released; its body is a one-line batch, so it is read all the same.
const (
	// HeaderFormat names the format version of a message.
	HeaderFormat = "Smd-Format"
	// HeaderEvents holds the number of events in a message.
	HeaderEvents = "Smd-Events"
	// FormatBatch is the version of the batch format: JSON lines.
	FormatBatch = "2"
)

// formatBatch is the header value shared by every message published.
var formatBatch = []string{FormatBatch}

// ErrFormat is returned by [DecodeMessage] for a message in a format this
// version does not read.
var ErrFormat = errors.New("access stream: unknown message format")

// MessageEvents is the number of events a message holds: its Smd-Events
// header, or else the number of lines of its body.
func MessageEvents(h nats.Header, body []byte) int {
	if v := h.Get(HeaderEvents); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return n
		}
	}
	return countLines(body)
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
// and how many it could not: lines that are not valid events, and events
// missing when the body has fewer lines than Smd-Events says. err is nil
// when bad is 0, else the first problem met. A message in a format this
// version does not read (or with an empty body) delivers nothing: bad is
// then [MessageEvents] (at least 1) and err wraps [ErrFormat].
func DecodeMessage(h nats.Header, body []byte, fn func(*accesslog.Event)) (ok, bad int, err error) {
	if f := h.Get(HeaderFormat); f != "" && f != FormatBatch {
		return 0, max(1, MessageEvents(h, body)), fmt.Errorf("%w: %s %q", ErrFormat, HeaderFormat, f)
	}
	if len(body) == 0 {
		return 0, max(1, MessageEvents(h, body)), fmt.Errorf("%w: empty message", ErrFormat)
	}
	ok, bad, err = DecodeBatch(body, fn)
	if want, lines := MessageEvents(h, body), ok+bad; want > lines {
		bad += want - lines
		if err == nil {
			err = fmt.Errorf("access stream: %s says %d events, the message holds %d lines", HeaderEvents, want, lines)
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
