package node_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/token/smde"
)

// BenchmarkEdgeHit1KB is a cached 1 KB object with a token check through a
// whole edge (Start: listener, server engine, pipeline, cache; access log
// off, as in bench/run.sh) over one loopback keep-alive connection, for
// each server engine in the same run. The client is the same minimal raw
// one for both, and its cost is in both ns/op; cpu-ns/op is the process's
// CPU time per request (client included), steadier than wall time on a
// shared machine.
func BenchmarkEdgeHit1KB(b *testing.B) { benchEdgeHit(b, 1<<10) }

// BenchmarkEdgeHit200KB is BenchmarkEdgeHit1KB with a 200 KB object.
func BenchmarkEdgeHit200KB(b *testing.B) { benchEdgeHit(b, 200<<10) }

func benchEdgeHit(b *testing.B, size int) {
	body := make([]byte, size)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Type", "video/mp2t")
		w.Write(body)
	}))
	defer origin.Close()
	tok, err := (&smde.Signer{Key: testKey}).Sign(&smde.Policy{Paths: []string{"/"}, Expiry: farFuture}, &smde.Viewer{})
	if err != nil {
		b.Fatal(err)
	}
	req := "GET /" + tok.Token + "/vod/object.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n"
	for _, engine := range engines {
		b.Run(engineName(engine), func(b *testing.B) {
			s, _ := startEdge(b, origin.URL, func(c *config.Edge) {
				c.Server.Engine = engine
				c.AccessLog.File = ""
				c.Admin.Listen = ""
			})
			// The miss (streamed: the origin sends no length) fills the cache.
			resp, err := http.Get("http://" + s.Addr + "/" + tok.Token + "/vod/object.bin")
			if err != nil {
				b.Fatal(err)
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || n != int64(size) {
				b.Fatalf("priming: %d, %d bytes", resp.StatusCode, n)
			}
			c := dialRaw(b, s.Addr, req, size)
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				if code, n, err := c.roundTrip(); err != nil || code != 200 || n != size {
					b.Fatalf("%d %d %v", code, n, err)
				}
			}
			if b.N > 0 {
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			}
		})
	}
}

// rawClient sends one fixed request at a time on a keep-alive connection
// and reads the response (head, then a Content-Length body) without
// allocating.
type rawClient struct {
	nc  net.Conn
	req []byte
	buf []byte
}

func dialRaw(tb testing.TB, addr, req string, size int) *rawClient {
	tb.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nc.Close() })
	return &rawClient{nc: nc, req: []byte(req), buf: make([]byte, size+8<<10)}
}

var errShortResponse = errors.New("short response")

// roundTrip returns the status and the body length.
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
		end = bytes.Index(c.buf[:n], []byte("\r\n\r\n"))
	}
	head := c.buf[:end]
	if len(head) < 12 {
		return 0, 0, errShortResponse
	}
	status, _ := strconv.Atoi(string(head[9:12]))
	i := bytes.Index(head, []byte("\r\nContent-Length: "))
	if i < 0 {
		return status, 0, errShortResponse
	}
	v := head[i+len("\r\nContent-Length: "):]
	if j := bytes.IndexByte(v, '\r'); j >= 0 {
		v = v[:j]
	}
	cl, err := strconv.Atoi(string(v))
	if err != nil {
		return status, 0, err
	}
	for total := end + 4 + cl; n < total; {
		m, err := c.nc.Read(c.buf[n:total])
		if err != nil {
			return status, 0, err
		}
		n += m
	}
	return status, cl, nil
}
