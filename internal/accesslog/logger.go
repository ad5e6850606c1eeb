package accesslog

import (
	"bufio"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Logger queues events for one writer goroutine that encodes them as JSON
// lines ([AppendEvent]). It is safe for concurrent use.
type Logger struct {
	ch      chan Event
	out     io.Writer
	log     *slog.Logger
	done    chan struct{}
	closing sync.Once
	mu      sync.RWMutex // guards closed against Log racing Close
	closed  bool

	written, dropped, failed atomic.Uint64
}

// New starts a Logger writing to out with room for buffer queued events.
// If out is an io.Closer, Close closes it.
func New(out io.Writer, buffer int, log *slog.Logger) *Logger {
	if buffer < 1 {
		buffer = 1
	}
	l := &Logger{ch: make(chan Event, buffer), out: out, log: log, done: make(chan struct{})}
	go l.run()
	return l
}

// Log queues e without blocking; a full queue drops it (see Dropped).
func (l *Logger) Log(e *Event) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.dropped.Add(1)
		return
	}
	select {
	case l.ch <- *e:
	default:
		l.dropped.Add(1)
	}
}

// Written, Dropped and Failed count events written, dropped on a full
// queue, and lost to write errors.
func (l *Logger) Written() uint64 { return l.written.Load() }

// Dropped counts events dropped because the queue was full.
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }

// Failed counts events lost to write errors.
func (l *Logger) Failed() uint64 { return l.failed.Load() }

func (l *Logger) run() {
	defer close(l.done)
	w := bufio.NewWriterSize(l.out, 64<<10)
	var line []byte
	pending := 0
	flush := func() {
		if err := w.Flush(); err != nil {
			l.failed.Add(uint64(pending))
			l.log.Error("access log write failed", "err", err, "events", pending)
			w.Reset(l.out)
		} else {
			l.written.Add(uint64(pending))
		}
		pending = 0
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case e, ok := <-l.ch:
			if !ok {
				flush()
				return
			}
			line = append(AppendEvent(line[:0], &e), '\n')
			_, _ = w.Write(line) // an error stays in w: flush reports it
			pending++
			// Flush when the queue is drained, so a quiet edge's
			// events reach the file promptly and a busy one batches.
			if len(l.ch) == 0 || w.Buffered() > 48<<10 {
				flush()
			}
		case <-tick.C:
			if pending > 0 {
				flush()
			}
		}
	}
}

// Close writes the queued events and closes the output if it is a Closer.
// It is idempotent.
func (l *Logger) Close() error {
	var err error
	l.closing.Do(func() {
		l.mu.Lock()
		l.closed = true
		close(l.ch)
		l.mu.Unlock()
		<-l.done
		if c, ok := l.out.(io.Closer); ok {
			err = c.Close()
		}
	})
	return err
}
