package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/node"
)

// edgeOptions are the flags of "smd edge"; each overrides its config key.
type edgeOptions struct {
	config, mode, listen, admin, keys, revoked, origin, accessLog, logLevel, nats, dataDir string
}

func newEdgeCmd() *cobra.Command {
	o := &edgeOptions{}
	c := &cobra.Command{
		Use:   "edge [--config edge.yaml] [flags]",
		Short: "Run the edge: check tokens, cache and serve media from origins",
		Long: "Run the edge: every media request's token is checked, revoked sessions are refused,\n" +
			"and objects are served from the in-memory cache or the route's origin.\n\n" +
			"Settings come from --config (YAML), then SMD_EDGE_* environment variables (e.g.\n" +
			"SMD_EDGE_CACHE_MAX_BYTES=1GiB), then these flags. See docs/edge.md for every key.",
		Example: "  smd edge --keys keys.json --origin http://127.0.0.1:8081\n" +
			"  smd edge --mode auth --keys keys.json --listen 127.0.0.1:9000   # behind nginx auth_request\n" +
			"  smd edge --config /etc/smd/edge.yaml",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := c.Flags()
	f.StringVar(&o.config, "config", "", "YAML configuration `FILE`")
	f.StringVar(&o.mode, "mode", "", "`MODE` serve (check, cache, serve) or auth (answer a forwarding proxy's auth requests: nginx auth_request, Caddy forward_auth, ...) (mode)")
	f.StringVar(&o.listen, "listen", "", "HTTP `ADDRESS` (listen), e.g. :8080")
	f.StringVar(&o.admin, "admin-listen", "", "admin `ADDRESS` for /metrics, /healthz, /readyz (admin.listen)")
	f.StringVar(&o.keys, "keys", "", "key `FILE` (keys_file)")
	f.StringVar(&o.revoked, "revoked-file", "", "`FILE` of revoked session ids (revoked_file)")
	f.StringVar(&o.origin, "origin", "", "origin `URL` for a single route \"/\" (replaces routes)")
	f.StringVar(&o.accessLog, "access-log", "", "access log `FILE`, - for standard output (access_log.file)")
	f.StringVar(&o.nats, "nats", "", "NATS server `URLS`, comma-separated (nats.urls): keys and revocations from the control plane")
	f.StringVar(&o.dataDir, "data-dir", "", "`DIR` for the snapshots of keys and revocations (data_dir)")
	f.StringVar(&o.logLevel, "log-level", "info", "`LEVEL` of operational logs: debug, info, warn, error")
	return c
}

func (o *edgeOptions) run(cmd *cobra.Command) error {
	log, err := newLogger(cmd.ErrOrStderr(), o.logLevel)
	if err != nil {
		return err
	}
	cfg, err := o.load(cmd)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var srv *node.EdgeServer
	wait := func(context.Context) error { return nil }
	if cfg.NATS.Enabled() {
		n, err := node.StartEdge(ctx, cfg, version, log)
		if err != nil {
			return err
		}
		srv, wait = n.Edge, n.Wait
	} else {
		s, err := node.StartFileEdge(ctx, cfg, log)
		if err != nil {
			return err
		}
		srv, wait = s, s.Wait
	}
	defer onHangup(ctx, func() {
		cfg, err := o.load(cmd)
		if err != nil {
			logReload(log)(nil, err)
			return
		}
		logReload(log)(srv.Reload(cfg))
	})()
	return wait(ctx)
}

// load reads the configuration: the file, the environment, then the flags.
func (o *edgeOptions) load(cmd *cobra.Command) (*config.Edge, error) {
	cfg, err := config.LoadEdge(o.config, nil)
	if err != nil {
		return nil, err
	}
	flags := cmd.Flags()
	for _, f := range []struct {
		name string
		dst  *string
		val  string
	}{
		{"mode", &cfg.Mode, o.mode},
		{"listen", &cfg.Listen, o.listen},
		{"admin-listen", &cfg.Admin.Listen, o.admin},
		{"keys", &cfg.KeysFile, o.keys},
		{"revoked-file", &cfg.RevokedFile, o.revoked},
		{"access-log", &cfg.AccessLog.File, o.accessLog},
		{"data-dir", &cfg.DataDir, o.dataDir},
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

// onHangup calls reload on each SIGHUP until ctx ends or the returned
// function is called.
func onHangup(ctx context.Context, reload func()) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reload()
			}
		}
	}()
	return func() { signal.Stop(hup); cancel() }
}

// logReload reports a reload's outcome: a configuration that did not load
// or apply changes nothing; changed keys that need a restart keep their
// running values.
func logReload(log *slog.Logger) func(restart []string, err error) {
	return func(restart []string, err error) {
		switch {
		case err != nil:
			log.Error("configuration reload failed; the running configuration stays", "err", err)
		case len(restart) > 0:
			log.Warn("configuration reloaded, but these keys changed and need a restart; they keep their running values", "keys", strings.Join(restart, ", "))
		default:
			log.Info("configuration reloaded")
		}
	}
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// newLogger returns a text logger at the named level.
func newLogger(w interface{ Write([]byte) (int, error) }, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
