// Command burst fires n concurrent GET requests for one object at once and
// reports how they went. It is the cold-burst half of bench/run.sh: pointed
// at an object the edge has not cached yet, it shows how many origin
// requests n simultaneous viewers cost (counted by the caller) and what
// latency they saw.
//
//	burst -url 'http://127.0.0.1:37102/<token>/burst/obj.bin' -n 1000 -timeout 30s
//
// Every request gets its own goroutine and, at first, its own connection;
// all goroutines wait on one channel and are released together. It checks
// that every response is 200 with the same body length, prints one summary
// line and exits 1 otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

type result struct {
	status int
	length int64
	d      time.Duration
	err    error
}

func main() {
	tmpl := flag.String("url", "", "URL `template` to GET; {i} is replaced by the request's index (0..n-1), if present")
	n := flag.Int("n", 1000, "number of concurrent requests")
	timeout := flag.Duration("timeout", 30*time.Second, "bound on the whole burst")
	flag.Parse()
	if *tmpl == "" || *n < 1 || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: burst -url URL [-n 1000] [-timeout 30s]")
		os.Exit(2)
	}
	if err := run(*tmpl, *n, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "burst:", err)
		os.Exit(1)
	}
}

func run(tmpl string, n int, timeout time.Duration) error {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: timeout}).DialContext,
		MaxConnsPerHost:     0, // unlimited: one connection per request
		MaxIdleConns:        n,
		MaxIdleConnsPerHost: n,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	results := make([]result, n)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	for i := range n {
		url := strings.ReplaceAll(tmpl, "{i}", strconv.Itoa(i))
		go func() {
			defer done.Done()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			ready.Done()
			if err != nil {
				results[i].err = err
				return
			}
			<-start
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				results[i] = result{err: err, d: time.Since(t0)}
				return
			}
			length, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			results[i] = result{status: resp.StatusCode, length: length, d: time.Since(t0), err: err}
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	wall := time.Since(t0)

	var errs []error
	statuses := map[int]int{}
	lengths := map[int64]int{}
	lat := make([]time.Duration, 0, n)
	for i, r := range results {
		if r.err != nil {
			if len(errs) < 5 {
				errs = append(errs, fmt.Errorf("request %d: %w", i, r.err))
			}
			continue
		}
		statuses[r.status]++
		lengths[r.length]++
		lat = append(lat, r.d)
	}
	slices.Sort(lat)
	fmt.Printf("requests=%d ok=%d statuses=%v lengths=%v wall_ms=%.1f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
		n, statuses[http.StatusOK], statuses, lengths, ms(wall), ms(pct(lat, 50)), ms(pct(lat, 99)), ms(pct(lat, 100)))
	failed := n - len(lat)
	switch {
	case failed > 0:
		errs = append([]error{fmt.Errorf("%d of %d requests failed", failed, n)}, errs...)
	case statuses[http.StatusOK] != n:
		errs = append(errs, fmt.Errorf("not every response is 200: %v", statuses))
	case len(lengths) != 1:
		errs = append(errs, fmt.Errorf("body lengths differ: %v", lengths))
	}
	return errors.Join(errs...)
}

// pct is the p-th percentile (nearest rank) of sorted durations.
func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (p*len(sorted)+99)/100 - 1
	return sorted[max(i, 0)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
