package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/smd-media/smd/internal/origin"
)

// originOptions are the flags of "smd origin".
type originOptions struct {
	listen      string
	allowOrigin string
	liveWindow  int
}

func newOriginCmd() *cobra.Command {
	o := &originOptions{}
	c := &cobra.Command{
		Use:   "origin [--listen ADDR]",
		Short: "Run the sample HLS/DASH origin: VOD and a simulated live stream",
		Long: "Run the sample origin that smd's edge is tested and demonstrated with. It serves\n" +
			"the clip built into smd as VOD under /vod/<title>/ and loops it as a live stream\n" +
			"under /live/<channel>/, both in HLS (master.m3u8) and DASH (manifest.mpd), for any\n" +
			"title or channel name; /time is its clock for DASH players, /healthz its health.\n\n" +
			"It logs one line with the URLs when it starts, and stops cleanly on SIGINT or SIGTERM.",
		Example: "  smd origin --listen 127.0.0.1:8081\n" +
			"  ffprobe http://127.0.0.1:8081/vod/m1/master.m3u8",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return o.run(ctx, log)
		},
	}
	f := c.Flags()
	f.SortFlags = false
	f.StringVar(&o.listen, "listen", "127.0.0.1:8081", "`ADDR` to listen on, host:port")
	f.StringVar(&o.allowOrigin, "allow-origin", "*", "Access-Control-Allow-Origin `VALUE` on every response (empty: none)")
	f.IntVar(&o.liveWindow, "live-window", origin.DefaultLiveWindow, "`N` segments in live playlists, 3 to 1000")
	return c
}

// Server timeouts: each bounds what one slow or idle client can hold.
const (
	originReadHeaderTimeout = 10 * time.Second  // slowloris: headers sent byte by byte
	originWriteTimeout      = 60 * time.Second  // a reader that never drains a segment
	originIdleTimeout       = 120 * time.Second // idle keep-alive connections
	originShutdownTimeout   = 10 * time.Second  // requests in flight at SIGTERM
)

// run serves until ctx is done, then shuts down gracefully.
func (o *originOptions) run(ctx context.Context, log *slog.Logger) error {
	h, err := origin.New(origin.Config{Logger: log, AllowOrigin: o.allowOrigin, LiveWindow: o.liveWindow})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("origin: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: originReadHeaderTimeout,
		WriteTimeout:      originWriteTimeout,
		IdleTimeout:       originIdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	base := "http://" + ln.Addr().String()
	log.Info("origin listening", "addr", ln.Addr().String(),
		"vod_hls", base+origin.PathVODHLS, "vod_dash", base+origin.PathVODDASH,
		"live_hls", base+origin.PathLiveHLS, "live_dash", base+origin.PathLiveDASH)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("origin: serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("origin shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), originShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("origin: shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("origin: serve: %w", err)
	}
	log.Info("origin stopped")
	return nil
}
