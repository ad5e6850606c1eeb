// Package connlimit bounds the connections listeners hold open, as
// nginx's worker_connections does: at the limit, Accept waits for one to
// close, and new clients wait in the kernel's listen queue, costing the
// process nothing. It imports nothing of smd.
package connlimit

import (
	"bufio"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Limiter bounds the connections open on the listeners it wraps,
// together.
type Limiter struct {
	max   int
	slots chan struct{}

	open   atomic.Int64
	waited atomic.Uint64
}

// New makes a Limiter of max open connections (max > 0).
func New(max int) *Limiter {
	return &Limiter{max: max, slots: make(chan struct{}, max)}
}

// Max is the bound.
func (l *Limiter) Max() int { return l.max }

// Open is the number of connections open now.
func (l *Limiter) Open() int64 { return l.open.Load() }

// Waited counts the times an Accept found every slot taken and had to
// wait for a connection to close.
func (l *Limiter) Waited() uint64 { return l.waited.Load() }

// Listener wraps ln: its Accept waits for a free slot, then for a
// connection, whose Close frees the slot.
func (l *Limiter) Listener(ln net.Listener) net.Listener {
	return &listener{Listener: ln, l: l, done: make(chan struct{})}
}

type listener struct {
	net.Listener
	l    *Limiter
	done chan struct{}
	once sync.Once
}

func (ln *listener) Accept() (net.Conn, error) {
	l := ln.l
	select {
	case l.slots <- struct{}{}:
	default:
		l.waited.Add(1)
		select {
		case l.slots <- struct{}{}:
		case <-ln.done:
			return nil, net.ErrClosed
		}
	}
	c, err := ln.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	l.open.Add(1)
	r := &release{l: l}
	if tc, ok := c.(*net.TCPConn); ok {
		// Embedding *net.TCPConn keeps what net.Buffers (writev) and
		// io.Copy (sendfile, splice) look for on a TCP connection.
		return &tcpConn{TCPConn: tc, r: r}, nil
	}
	return &conn{Conn: c, r: r}, nil
}

// Close closes the listener; a waiting Accept returns.
func (ln *listener) Close() error {
	ln.once.Do(func() { close(ln.done) })
	return ln.Listener.Close()
}

// release frees a connection's slot once.
type release struct {
	l    *Limiter
	once sync.Once
}

func (r *release) do() {
	r.once.Do(func() {
		r.l.open.Add(-1)
		<-r.l.slots
	})
}

type tcpConn struct {
	*net.TCPConn
	r *release
}

func (c *tcpConn) Close() error {
	err := c.TCPConn.Close()
	c.r.do()
	return err
}

type conn struct {
	net.Conn
	r *release
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.r.do()
	return err
}

// perConn is the memory budgeted for one open connection by Default:
// a goroutine's stack, read and write buffers, the kernel's socket
// buffers, with room to spare (an idle one measured about 10 KiB).
const perConn = 64 << 10

// Default is a bound sized for this machine: three quarters of the
// process's file descriptor limit (the rest for origin connections, the
// cache's and the spool's files, NATS), and no more than physical memory
// at 64 KiB a connection; at least 256.
func Default() int {
	n := 1 << 20
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 && rl.Cur < 1<<40 {
		n = int(rl.Cur) * 3 / 4
	}
	if mem := memTotal(); mem > 0 {
		n = min(n, int(mem/perConn))
	}
	return max(n, 256)
}

// memTotal is the machine's physical memory in bytes (Linux), 0 if
// unknown.
func memTotal() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
