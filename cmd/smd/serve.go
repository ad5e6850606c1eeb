package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/node"
)

// serveOptions are the flags of "smd serve" and "smd control".
type serveOptions struct {
	config, listen, apiListen, dataDir, origin, nats, natsListen, logLevel string
}

func newServeCmd() *cobra.Command {
	o := &serveOptions{}
	c := &cobra.Command{
		Use:   "serve [--config smd.yaml] [flags]",
		Short: "Run the control plane and an edge in one process on an embedded NATS server",
		Long: "Run smd on one machine: an embedded NATS server with JetStream (data in <data_dir>/nats),\n" +
			"the control plane (API under /v1/ on the edge's address, key rotation) and the edge.\n" +
			"On first start it creates the master key (<data_dir>/master.key) and the API keys\n" +
			"(<data_dir>/api-keys.json, tokens in api-keys.admin and api-keys.issuer).\n\n" +
			"Settings come from --config (YAML: the edge's keys, plus control: and embedded_nats:),\n" +
			"then SMD_* environment variables (SMD_CONTROL_TOKEN_RATE=10), then flags. See docs/control.md.",
		Example: "  smd serve --origin http://127.0.0.1:8081 --data-dir /var/lib/smd",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return o.run(cmd, true) },
	}
	o.flags(c, true)
	return c
}

func newControlCmd() *cobra.Command {
	o := &serveOptions{}
	c := &cobra.Command{
		Use:   "control --nats URLS [flags]",
		Short: "Run the control plane (API, key rotation) against external NATS",
		Long: "Run the control plane alone against an external NATS cluster: the API on\n" +
			"control.listen and the key rotation (one leader among all control planes).\n" +
			"Same configuration file as smd serve; see docs/control.md.",
		Example: "  smd control --nats nats://n1:4222,nats://n2:4222 --api-listen :8000",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return o.run(cmd, false) },
	}
	o.flags(c, false)
	return c
}

func (o *serveOptions) flags(c *cobra.Command, serve bool) {
	f := c.Flags()
	f.StringVar(&o.config, "config", "", "YAML configuration `FILE`")
	f.StringVar(&o.apiListen, "api-listen", "", "the API's own `ADDRESS` (control.listen)")
	f.StringVar(&o.dataDir, "data-dir", "", "`DIR` for local state (data_dir)")
	f.StringVar(&o.logLevel, "log-level", "info", "`LEVEL` of operational logs: debug, info, warn, error")
	if serve {
		f.StringVar(&o.listen, "listen", "", "the edge's HTTP `ADDRESS` (listen)")
		f.StringVar(&o.origin, "origin", "", "origin `URL` for a single route \"/\" (replaces routes)")
		f.StringVar(&o.natsListen, "nats-listen", "", "client `ADDRESS` of the embedded NATS server for other processes (embedded_nats.listen)")
	} else {
		f.StringVar(&o.nats, "nats", "", "NATS server `URLS`, comma-separated (nats.urls)")
	}
}

func (o *serveOptions) run(cmd *cobra.Command, serve bool) error {
	log, err := newLogger(cmd.ErrOrStderr(), o.logLevel)
	if err != nil {
		return err
	}
	cfg, err := o.load(cmd, serve)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := node.StartControl
	if serve {
		start = node.StartServe
	}
	n, err := start(ctx, cfg, version, log)
	if err != nil {
		return err
	}
	log.Info("smd running", "edge", edgeAddr(n), "api", n.APIAddr, "nats", n.NATSAddr, "data_dir", cfg.DataDir)
	defer onHangup(ctx, func() {
		cfg, err := o.load(cmd, serve)
		if err != nil {
			logReload(log)(nil, err)
			return
		}
		logReload(log)(n.Reload(cfg))
	})()
	return n.Wait(ctx)
}

// load reads the configuration: the file, the environment, then the flags.
func (o *serveOptions) load(cmd *cobra.Command, serve bool) (*config.Serve, error) {
	cfg, err := config.LoadServe(o.config, serve, nil)
	if err != nil {
		return nil, err
	}
	flags := cmd.Flags()
	for _, f := range []struct {
		name string
		dst  *string
		val  string
	}{
		{"listen", &cfg.Listen, o.listen},
		{"api-listen", &cfg.Control.Listen, o.apiListen},
		{"data-dir", &cfg.DataDir, o.dataDir},
		{"nats-listen", &cfg.EmbeddedNATS.Listen, o.natsListen},
	} {
		if flags.Changed(f.name) {
			*f.dst = f.val
		}
	}
	if flags.Changed("nats") {
		cfg.NATS.URLs = splitList(o.nats)
	}
	if flags.Changed("origin") {
		cfg.Routes = []config.Route{{Prefix: "/", Origin: o.origin}}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func edgeAddr(n *node.Node) string {
	if n.Edge == nil {
		return ""
	}
	return n.Edge.Addr
}
