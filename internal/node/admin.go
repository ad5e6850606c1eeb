package node

import (
	"context"
	"fmt"
	"net/http"
	"net/http/pprof"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// serveAdmin runs the admin listener of a node without an edge (smd
// control): /metrics, /healthz, and /readyz, which answers 503 while the
// NATS connection is down. (An edge serves its own admin listener.)
func serveAdmin(ctx context.Context, addr string, pprofOn bool, reg *prometheus.Registry, nc *nats.Conn, run func(func() error)) (string, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s := nc.Status(); s != nats.CONNECTED {
			http.Error(w, "not ready: nats "+s.String(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if pprofOn {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return serveHTTP(ctx, "admin.listen", addr, mux, run)
}
