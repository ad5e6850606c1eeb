package h1

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// rawClient sends a fixed request on one keep-alive connection and reads
// the response (head and Content-Length body) without allocating, so that
// a benchmark measures the server.
type rawClient struct {
	nc  net.Conn
	req []byte
	buf []byte
}

func dialRaw(tb testing.TB, addr string, req string) *rawClient {
	tb.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nc.Close() })
	return &rawClient{nc: nc, req: []byte(req), buf: make([]byte, 64<<10)}
}

var errShort = errors.New("short response")

// roundTrip sends the request and returns the status and body length.
func (c *rawClient) roundTrip() (int, int, error) {
	if _, err := c.nc.Write(c.req); err != nil {
		return 0, 0, err
	}
	n, end := 0, -1
	for end < 0 {
		m, err := c.nc.Read(c.buf[n:])
		if err != nil {
			return 0, 0, err
		}
		n += m
		end = bytes.Index(c.buf[:n], crlfcrlf)
	}
	head := c.buf[:end]
	if len(head) < 12 {
		return 0, 0, errShort
	}
	status, _ := strconv.Atoi(string(head[9:12]))
	i := bytes.Index(head, []byte("\r\nContent-Length: "))
	if i < 0 {
		return status, 0, errShort
	}
	j := bytes.IndexByte(head[i+2:], '\r')
	if j < 0 {
		j = len(head) - i - 2
	}
	cl, err := strconv.Atoi(string(head[i+18 : i+2+j]))
	if err != nil {
		return status, 0, err
	}
	total := end + 4 + cl
	for n < total {
		m, err := c.nc.Read(c.buf[n:total])
		if err != nil {
			return status, 0, err
		}
		n += m
	}
	if n != total {
		return status, 0, errShort // pipelined bytes: not in this benchmark
	}
	return status, cl, nil
}

// serveBoth runs h on a lean server and on a net/http server configured
// alike, and returns their addresses.
func serveBoth(tb testing.TB, h http.Handler) (lean, std string) {
	tb.Helper()
	ln1, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s1 := &Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	s2 := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	go s1.Serve(ln1)
	go s2.Serve(ln2)
	tb.Cleanup(func() { s1.Close(); s2.Close() })
	return ln1.Addr().String(), ln2.Addr().String()
}

// BenchmarkServe1KB: a handler writing 1 KB with its Content-Length, over
// one loopback keep-alive connection: the server's share without smd's
// pipeline (the edge's BenchmarkEdgeHit1KB has it).
func BenchmarkServe1KB(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	ct, cl, cc := []string{"video/mp2t"}, []string{"1024"}, []string{"max-age=3600"}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd["Content-Type"], hd["Content-Length"], hd["Cache-Control"] = ct, cl, cc
		w.WriteHeader(200)
		w.Write(body)
	})
	lean, std := serveBoth(b, h)
	for _, tc := range []struct{ name, addr string }{{"lean", lean}, {"net-http", std}} {
		b.Run(tc.name, func(b *testing.B) {
			c := dialRaw(b, tc.addr, "GET /o/1k.bin HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\n\r\n")
			b.ReportAllocs()
			cpu := startCPU()
			for b.Loop() {
				if code, n, err := c.roundTrip(); err != nil || code != 200 || n != 1024 {
					b.Fatalf("%d %d %v", code, n, err)
				}
			}
			cpu.report(b)
		})
	}
}
