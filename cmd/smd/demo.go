package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/smd-media/smd/internal/demo"
)

// demoOptions are the flags of "smd demo".
type demoOptions struct {
	listen, publicURL, originListen, natsListen, dataDir, logLevel, logFile string
}

func newDemoCmd() *cobra.Command {
	o := &demoOptions{}
	c := &cobra.Command{
		Use:   "demo [flags]",
		Short: "Run everything on one machine with the demo website and the dashboard; print the URL to open",
		Long: "Run smd as a newcomer wants to see it: an embedded NATS server, the control plane, the edge,\n" +
			"the detector and the sample origin, all in this process, with the demo website at / on the\n" +
			"edge's one address (the API under /v1/, forwarded with HMAC request signing; the media under\n" +
			"the token check). It creates the demo's assets (HLS and DASH, VOD and live) and prints the URL\n" +
			"to open and where its data lives. The dashboard is at /dashboard: log in with the admin key in\n" +
			"<data-dir>/api-keys.admin. Ctrl-C stops everything.\n\n" +
			"The edge trusts this machine's X-Forwarded-For and CloudFront-Viewer-Country, so that the\n" +
			"share demo and the simulator can play from simulated places: keep the demo on loopback, or on\n" +
			"a network you trust (--listen 0.0.0.0:8080 --public-url http://<this machine's address>:8080 to\n" +
			"play the QR code's URL on a phone). See docs/demo.md.",
		Example: "  smd demo\n  smd demo --listen 127.0.0.1:8090 --data-dir /tmp/smd-demo",
		Args:    cobra.NoArgs,
		RunE:    o.run,
	}
	f := c.Flags()
	f.StringVar(&o.listen, "listen", demo.DefaultListen, "`ADDRESS` of the website, the API and the media")
	f.StringVar(&o.publicURL, "public-url", "", "`URL` viewers open (default http://<listen>): the playback URLs name its host")
	f.StringVar(&o.originListen, "origin-listen", "127.0.0.1:0", "`ADDRESS` of the sample origin (only the edge reads it; port 0: a free one)")
	f.StringVar(&o.natsListen, "nats-listen", "", "client `ADDRESS` of the embedded NATS server for other processes (smd access tail); none by default")
	f.StringVar(&o.dataDir, "data-dir", demo.DefaultDataDir, "`DIR` of the demo's state, kept between runs")
	f.StringVar(&o.logLevel, "log-level", "warn", "`LEVEL` of the logs written to --log-file: debug, info, warn, error")
	f.StringVar(&o.logFile, "log-file", "", "`FILE` for the logs (default <data-dir>/demo.log)")
	return c
}

func (o *demoOptions) run(cmd *cobra.Command, _ []string) error {
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	logPath := o.logFile
	if logPath == "" {
		logPath = filepath.Join(o.dataDir, "demo.log")
	}
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("--log-file: %w", err)
	}
	defer lf.Close()
	log, err := newLogger(lf, o.logLevel)
	if err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	out := cmd.OutOrStdout()
	d, err := demo.Start(ctx, demo.Config{
		Listen: o.listen, PublicURL: o.publicURL, OriginListen: o.originListen, NATSListen: o.natsListen,
		DataDir: o.dataDir, Version: version, Log: log,
	})
	if err != nil {
		return err
	}
	logAbs, _ := filepath.Abs(logPath)
	fmt.Fprintf(out, "\n  open      %s\n  dashboard %sdashboard  (log in with the key in %s)\n  data      %s\n  logs      %s\n",
		d.URL, d.URL, d.AdminKeyFile, d.DataDir, logAbs)
	if d.Node.NATSAddr != "" {
		fmt.Fprintf(out, "  nats      nats://%s\n", d.Node.NATSAddr)
	}
	fmt.Fprintln(out, "\nCtrl-C stops the demo.")
	err = d.Wait(ctx)
	fmt.Fprintln(out, "smd demo: stopped")
	return err
}
