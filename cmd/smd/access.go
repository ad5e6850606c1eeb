package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/accessstream"
	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/natsstore"
)

// natsHint says how to reach the NATS of a single-machine smd.
const natsHint = "(smd serve and smd demo run NATS inside their process: it takes other processes'\n" +
	"connections only when started with --nats-listen ADDRESS, e.g. --nats-listen 127.0.0.1:4222, then\n" +
	"--nats nats://127.0.0.1:4222 here; without NATS, GET /v1/sessions/{id}/timeline and the\n" +
	"dashboard's session page show a session's requests)"

func newAccessCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "access",
		Short: "Read the access events the edges publish",
	}
	c.AddCommand(newAccessTailCmd())
	return c
}

func newAccessTailCmd() *cobra.Command {
	var (
		cfgFile, natsURLs, session string
		since                      time.Duration
		follow                     bool
		limit                      int
	)
	c := &cobra.Command{
		Use:   "tail --nats URLS [--since 5m] [--session ID] [--follow] [--limit N]",
		Short: "Print access events from the stream as JSON lines",
		Long: "Print the access events of the SMD_ACCESS stream as JSON lines (the fields of the\n" +
			"access log file), oldest first, from --since ago. It reads with an ordered\n" +
			"consumer that acknowledges nothing, so the detector and the exporter are not\n" +
			"disturbed. NATS credentials and TLS come from --config (the nats: section of a\n" +
			"control plane's or edge's file) or SMD_NATS_* variables; see docs/access.md.",
		Example: "  smd access tail --nats nats://127.0.0.1:4222 --since 10m --session S-1234\n" +
			"  smd access tail --config control.yaml --follow | jq 'select(.verdict != \"allow\")'",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if since <= 0 {
				return fmt.Errorf("--since %v: must be positive", since)
			}
			if limit < 0 {
				return fmt.Errorf("--limit %d: must not be negative", limit)
			}
			cfg, err := config.LoadServe(cfgFile, false, nil)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("nats") {
				cfg.NATS.URLs = splitList(natsURLs)
			}
			if len(cfg.NATS.URLs) == 0 {
				return errors.New("no NATS servers: give --nats URLS, or nats.urls in --config " + natsHint)
			}
			n := cfg.NATS
			nc, err := natsstore.Connect(natsstore.ConnConfig{
				URLs: n.URLs, Name: "smd-access-tail", CredsFile: n.CredsFile, NKeySeedFile: n.NKeyFile,
				User: n.User, Password: n.Password, Token: n.Token,
				CAFile: n.CAFile, CertFile: n.CertFile, KeyFile: n.KeyFile,
			})
			if err != nil {
				return fmt.Errorf("cannot reach NATS at %s: %w %s", strings.Join(n.URLs, ","), err, natsHint)
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			out := bufio.NewWriter(cmd.OutOrStdout())
			var line []byte
			printed := 0
			bad, err := accessstream.Tail(ctx, js, accessstream.TailConfig{Since: since, Session: session, Follow: follow},
				func(e *accesslog.Event) bool {
					line = append(accesslog.AppendEvent(line[:0], e), '\n')
					_, _ = out.Write(line)
					printed++
					if follow {
						_ = out.Flush() // a follower wants each event as it comes
					}
					return limit == 0 || printed < limit
				})
			if ferr := out.Flush(); ferr != nil && err == nil {
				err = ferr
			}
			if bad > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "smd access tail: %d events could not be decoded and were skipped\n", bad)
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&cfgFile, "config", "", "YAML configuration `FILE` whose nats: section to use")
	f.StringVar(&natsURLs, "nats", "", "NATS server `URLS`, comma-separated (nats.urls)")
	f.DurationVar(&since, "since", 5*time.Minute, "start this `DURATION` ago")
	f.StringVar(&session, "session", "", "only this session's events (`ID`)")
	f.BoolVar(&follow, "follow", false, "keep printing new events until interrupted")
	f.IntVar(&limit, "limit", 0, "stop after `N` events (0: no limit)")
	return c
}
