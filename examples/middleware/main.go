// Command middleware is a runnable example of smd's Go middleware: a file
// server of HLS/DASH media whose every request needs an smd token.
//
//	go run ./examples/middleware -dir ./media -keys keys.json -listen 127.0.0.1:8090
//
// keys.json is smd's key file ({"k1": "<hex or base64 secret>"}, as
// keys_file of smd edge). Make a token with smd's token API or
// `smd token sign --keys keys.json --path /vod/`, then fetch
// http://127.0.0.1:8090/<token>/vod/title/index.m3u8.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/smd-media/smd/middleware"
	"github.com/smd-media/smd/token"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "middleware:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends; ready, when set, gets the bound address.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("middleware", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8090", "address to serve on")
	dir := fs.String("dir", ".", "directory of media files")
	keysFile := fs.String("keys", "keys.json", `verification keys: {"kid": "secret"}`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*keysFile)
	if err != nil {
		return err
	}
	var secrets map[string]string
	if err := json.Unmarshal(b, &secrets); err != nil || len(secrets) == 0 {
		return fmt.Errorf("%s: want a JSON object of key ids and secrets (%v)", *keysFile, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	h, err := middleware.New(http.FileServer(http.Dir(*dir)), middleware.Options{
		Keys:      token.NewKeys(secrets),
		AccessLog: stderr, // one JSON line per request
		Log:       log,
	})
	if err != nil {
		return err
	}
	defer h.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	log.Info("serving", "addr", ln.Addr().String(), "dir", *dir)
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
