package connlimit

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := New(2)
	ln := lim.Listener(raw)
	defer ln.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	var clients []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", raw.Addr().String()) // the third waits in the listen queue
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	first := <-accepted
	<-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted over the limit of 2")
	case <-time.After(200 * time.Millisecond):
	}
	if lim.Open() != 2 || lim.Waited() != 1 {
		t.Fatalf("open %d waited %d, want 2 and 1", lim.Open(), lim.Waited())
	}
	if _, ok := first.(syscall.Conn); !ok {
		t.Error("a TCP connection lost its raw access (writev, sendfile)")
	}
	first.Close()
	first.Close() // twice frees one slot
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting connection was not accepted after one closed")
	}
	if lim.Open() != 2 {
		t.Fatalf("open %d, want 2", lim.Open())
	}
	ln.Close()
	if _, ok := <-accepted; ok {
		t.Fatal("accepted after Close")
	}
}

// TestCloseWhileWaiting: an Accept waiting for a slot returns when the
// listener closes.
func TestCloseWhileWaiting(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := New(1)
	ln := lim.Listener(raw)
	c, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := ln.Accept(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := ln.Accept(); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	ln.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("%v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still waiting after Close")
	}
}

func TestDefault(t *testing.T) {
	n := Default()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if n < 256 || uint64(n) > max(rl.Cur*3/4, 256) {
		t.Fatalf("Default() = %d with a descriptor limit of %d", n, rl.Cur)
	}
	if mem := memTotal(); mem == 0 || n > max(int(mem/perConn), 256) {
		t.Fatalf("Default() = %d with %d bytes of memory", n, mem)
	}
}
