package h1

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// tick is how often the coarse clock moves. Reading the system clock costs
// about 120 ns on the benchmark VM: per request that is a Date header and
// two deadline checks, so the server reads a clock a goroutine refreshes.
const tick = 100 * time.Millisecond

// clock is a coarse clock: the time (never ahead of the real one, at most
// tick behind) and the Date header of that second.
type clock struct {
	now  atomic.Int64 // unix nanoseconds
	date atomic.Pointer[dateLine]

	mu   sync.Mutex
	refs int
	stop chan struct{}
	done chan struct{}
}

// start runs the clock until as many stops as starts.
func (c *clock) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refs++
	if c.refs > 1 {
		return
	}
	c.set(time.Now())
	c.stop, c.done = make(chan struct{}), make(chan struct{})
	go c.run(c.stop, c.done)
}

func (c *clock) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refs == 0 {
		return
	}
	c.refs--
	if c.refs == 0 {
		close(c.stop)
		<-c.done
	}
}

func (c *clock) run(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			c.set(now)
		}
	}
}

func (c *clock) set(now time.Time) {
	c.now.Store(now.UnixNano())
	if d := c.date.Load(); d == nil || now.Unix() != d.sec {
		b := make([]byte, 0, len("Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"))
		b = append(b, "Date: "...)
		b = now.UTC().AppendFormat(b, http.TimeFormat)
		b = append(b, "\r\n"...)
		c.date.Store(&dateLine{sec: now.Unix(), b: b})
	}
}

// dateLine is the Date header line of one second.
type dateLine struct {
	sec int64
	b   []byte
}

// nanos returns the coarse time in unix nanoseconds.
func (c *clock) nanos() int64 { return c.now.Load() }

// dateLine returns "Date: ...\r\n" for the current second (give or take
// a tick).
func (c *clock) dateLine() []byte { return c.date.Load().b }
