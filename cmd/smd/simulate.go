package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/detect"
	"github.com/smd-media/smd/internal/simulate"
)

// simulateOptions are the flags of "smd simulate" that do not map one to
// one onto simulate.Config.
type simulateOptions struct {
	cfg                 simulate.Config
	api, keyFile        string
	shareIPs            string
	jsonOut, checkGoals bool
	logLevel            string
	// serve runs a stack in the process, whose detector scorer and
	// detectorFile configure.
	serve                bool
	scorer, detectorFile string
	// scenario names a mix of kinds; the kinds' own flags win over it.
	scenario string
}

// externalOnly are the flags that name or configure an external stack;
// serveOnly those that configure the stack of --serve.
var (
	externalOnly = []string{"edge", "api", "api-key-file", "key-file", "asset", "scorer-label", "blocked-status"}
	serveOnly    = []string{"scorer", "detector-config"}
)

func newSimulateCmd() *cobra.Command {
	o := &simulateOptions{cfg: simulate.DefaultConfig()}
	c := &cobra.Command{
		Use:   "simulate [flags]",
		Short: "Drive an edge with synthetic viewers and pirates; report precision, recall, time to block",
		Long: "Play legitimate viewers and abusive ones against a running smd stack, in real time, and report\n" +
			"how the piracy defences treated them, per kind of session: precision, recall, legitimate\n" +
			"sessions blocked, abusive sessions blocked, and time to block and to revoke (median, p95).\n\n" +
			"With --serve it runs a stack of its own in this process instead (embedded NATS in a temporary\n" +
			"directory, removed afterwards; the sample origin; the edge; the detector, configured by --scorer\n" +
			"and --detector-config) and reports every scorer of the detector, active and shadow: sessions\n" +
			"flagged, precision, recall and time to flag; --check-targets judges the active scorer.\n\n" +
			"Legitimate sessions play live or VOD HLS at the real segment cadence: plain players, address\n" +
			"changes, homes of two and households of three on one token, CGNAT and dual-stack mobile viewers,\n" +
			"seekers, ABR switchers, pausers, prefetching TVs, long titles. Abusive ones replay one token\n" +
			"from K IPs in K countries at once, or from 20 IPs asking once every 30 s, restream every\n" +
			"rendition as fast as they can or at real time, or download a long title at 4x or 10x.\n" +
			"--scenario picks a mix (default, classic, hiding, hard-legit). Impersonators write a\n" +
			"legitimate session's id in front of a token of their own on exc paths: they must revoke no\n" +
			"one, since that id is proven by nothing there. A session is blocked at\n" +
			"its first 403 (--blocked-status) from the edge.\n\n" +
			"Viewers are told apart by X-Forwarded-For and CloudFront-Viewer-Country: the edge must trust\n" +
			"this machine (trusted_proxies: [127.0.0.1/32]) and read geo from headers (geo: {source:\n" +
			"headers}). Tokens come from the token API (an issuer key; an admin key also creates the\n" +
			"asset \"" + simulate.DefaultAssetID + "\" when --asset is not given, and reads revocations back).\n\n" +
			"Exit codes: 0 done, 1 a target missed with --check-targets, 2 bad input. See docs/simulate.md.",
		Example: "  smd simulate --edge http://127.0.0.1:8080 --api-key-file smd-data/api-keys.admin\n" +
			"  smd simulate --duration 2m --legit 200 --shared 20 --share-ips 2..6 --json --check-targets\n" +
			"  smd simulate --serve --seed 7\n" +
			"  smd simulate --serve --scenario hard-legit --duration 60m --check-targets\n" +
			"  smd simulate --serve --scorer smde --detector-config smd.yaml --json",
		Args: cobra.NoArgs,
		RunE: o.run,
	}
	f := c.Flags()
	cfg := &o.cfg
	f.StringVar(&cfg.Edge, "edge", "", "the edge's base `URL` (default $SMD_EDGE_URL, else http://127.0.0.1:8080)")
	f.StringVar(&o.api, "api", "", "control plane `URL` (default $SMD_API_URL, else the edge, which serves the API under /v1/ in smd serve)")
	f.StringVar(&o.keyFile, "api-key-file", "", "`FILE` holding an issuer or admin API key (default $SMD_API_KEY_FILE; or the key itself in $SMD_API_KEY)")
	f.StringVar(&o.keyFile, "key-file", "", "the same as --api-key-file")
	f.StringVar(&cfg.AssetID, "asset", "", "`ID` of the asset to issue tokens for (default: "+simulate.DefaultAssetID+", created if absent)")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long viewers play, in real `TIME`")
	f.IntVar(&cfg.Legit, "legit", cfg.Legit, "`N` legitimate sessions")
	f.Float64Var(&cfg.LegitIPChange, "legit-ip-change", cfg.LegitIPChange, "`FRACTION` of legitimate sessions that change network once")
	f.Float64Var(&cfg.LegitHome, "legit-home", cfg.LegitHome, "`FRACTION` of legitimate sessions played on two devices of one home")
	f.IntVar(&cfg.Shared, "shared", cfg.Shared, "`M` tokens replayed from several IPs at once")
	f.StringVar(&o.shareIPs, "share-ips", fmt.Sprintf("%d..%d", cfg.ShareIPsMin, cfg.ShareIPsMax), "IPs per shared token: `K` or MIN..MAX (spread evenly)")
	f.IntVar(&cfg.Restreamers, "restreamers", cfg.Restreamers, "`R` restreamers pulling every rendition")
	f.Float64Var(&cfg.RestreamerRate, "restreamer-rate", cfg.RestreamerRate, "a restreamer's most `REQUESTS` per second (0: no limit)")
	f.IntVar(&cfg.Impersonators, "impersonators", cfg.Impersonators, "`I` impersonators: each writes a legitimate session's id in front of a token of its own on exc\n"+
		"paths, from "+fmt.Sprint(simulate.ImpersonatorIPs)+" IPs (tokens of asset "+simulate.DefaultExcAssetID+", created if absent); they must revoke no one")
	f.Float64Var(&cfg.ImpersonatorRate, "impersonator-rate", cfg.ImpersonatorRate, "an impersonator's most `REQUESTS` per second from each of its IPs")
	f.StringVar(&o.scenario, "scenario", simulate.ScenarioDefault, "`NAME` of a mix of kinds: "+strings.Join(simulate.Scenarios, ", ")+
		" (docs/simulate.md); the kinds' own flags win over it")
	f.IntVar(&cfg.Wide, "wide", cfg.Wide, "`N` tokens asked for from --wide-ips IPs in one country, each IP once every --wide-every")
	f.IntVar(&cfg.WideIntl, "wide-intl", cfg.WideIntl, "`N` tokens asked for so from IPs in 5 countries")
	f.IntVar(&cfg.WideIPs, "wide-ips", cfg.WideIPs, "IPs per wide token, `K` (each in a /24 of its own)")
	f.DurationVar(&cfg.WideEvery, "wide-every", cfg.WideEvery, "how often each IP of a wide token asks, `TIME`")
	f.IntVar(&cfg.Relays, "restreamers-rt", cfg.Relays, "`N` restreamers pulling every rendition at real time")
	f.IntVar(&cfg.Downloaders4x, "downloaders-4x", cfg.Downloaders4x, "`N` downloaders of a long VOD title at 4 times real time")
	f.IntVar(&cfg.Downloaders10x, "downloaders-10x", cfg.Downloaders10x, "`N` downloaders of a long VOD title at 10 times real time")
	f.IntVar(&cfg.Households, "households", cfg.Households, "`N` households of 3 devices behind one IP, one token")
	f.IntVar(&cfg.CGNAT, "cgnat", cfg.CGNAT, "`N` mobile viewers behind carrier-grade NAT, their IP changing within the carrier's pool")
	f.IntVar(&cfg.Mobiles, "mobiles", cfg.Mobiles, "`N` dual-stack phones moving home Wi-Fi -> mobile data -> office -> mobile data -> home")
	f.IntVar(&cfg.Seekers, "seekers", cfg.Seekers, "`N` VOD viewers seeking about every 30 s")
	f.IntVar(&cfg.ABR, "abr", cfg.ABR, "`N` live players switching rendition about every 10 s")
	f.IntVar(&cfg.Pausers, "pausers", cfg.Pausers, "`N` VOD viewers pausing for a sixth of the run about every third")
	f.IntVar(&cfg.TVs, "tvs", cfg.TVs, "`N` smart TVs prefetching 50 s of a VOD title")
	f.IntVar(&cfg.LongVOD, "long-vod", cfg.LongVOD, "`N` viewers of a long VOD title")
	f.StringVar(&cfg.ScorerLabel, "scorer-label", cfg.ScorerLabel, "`NAME` of the detector's scorer, for the report")
	f.IntVar(&cfg.BlockedStatus, "blocked-status", cfg.BlockedStatus, "the edge's `STATUS` for a revoked session (its status.revoked)")
	f.Int64Var(&cfg.Seed, "seed", 0, "`SEED` of the random choices, to repeat a run (0: from the clock; the report prints it)")
	f.BoolVar(&o.jsonOut, "json", false, "print the report as JSON")
	f.BoolVar(&o.checkGoals, "check-targets", false, "exit 1 when a target is missed (with --serve: by the active scorer)")
	f.BoolVar(&o.serve, "serve", false, "run a stack of its own in this process (not with --edge, --api, --api-key-file, --asset,\n"+
		"--scorer-label, --blocked-status) and report every scorer of its detector")
	f.StringVar(&o.scorer, "scorer", "", "with --serve: `NAME` of the active scorer ("+strings.Join(detect.Scorers, " or ")+"); the others run in\n"+
		"the shadow (default: the scorer of --detector-config, else "+detect.DefaultConfig().Scorer+")")
	f.StringVar(&o.detectorFile, "detector-config", "", "with --serve: YAML `FILE` whose detector: section configures the detector (an smd serve\n"+
		"configuration will do; default: the detector's defaults)")
	f.StringVar(&o.logLevel, "log-level", "off", "`LEVEL` of the logs on standard error, of the simulator and of the stack of --serve:\n"+
		"debug, info, warn, error or off")
	return c
}

// checkFlags refuses flags of the other mode: an external stack's, or the
// stack's of --serve.
func (o *simulateOptions) checkFlags(flags *pflag.FlagSet) error {
	if o.serve {
		for _, name := range externalOnly {
			if flags.Changed(name) {
				return fmt.Errorf("--%s: not with --serve, which runs a stack of its own", name)
			}
		}
		return nil
	}
	for _, name := range serveOnly {
		if flags.Changed(name) {
			return fmt.Errorf("--%s: only with --serve (an external stack's detector is configured where it runs)", name)
		}
	}
	return nil
}

// logger returns the logger of --log-level; nil for off.
func (o *simulateOptions) logger(w io.Writer) (*slog.Logger, error) {
	if o.logLevel == "off" {
		return nil, nil
	}
	log, err := newLogger(w, o.logLevel)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %q is not debug, info, warn, error or off", o.logLevel)
	}
	return log, nil
}

// detector is the detector of --serve: --detector-config's
// detector: section (or the defaults), --scorer active and the other
// scorers in the shadow.
func (o *simulateOptions) detector() (detect.Config, error) {
	cfg := detect.DefaultConfig()
	if o.detectorFile != "" {
		var err error
		if cfg, err = simulate.LoadDetectorConfig(o.detectorFile); err != nil {
			return cfg, fmt.Errorf("--detector-config: %w", err)
		}
	}
	if o.scorer != "" {
		if !slices.Contains(detect.Scorers, o.scorer) {
			return cfg, fmt.Errorf("--scorer: %q is not one of %s", o.scorer, strings.Join(detect.Scorers, ", "))
		}
		cfg.Scorer, cfg.Shadow = o.scorer, nil
		for _, s := range detect.Scorers {
			if s != o.scorer {
				cfg.Shadow = append(cfg.Shadow, s)
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("--detector-config %s: %w", o.detectorFile, err)
	}
	if !cfg.Enabled {
		return cfg, fmt.Errorf("--detector-config %s: detector.enabled: false, but --serve measures the detector", o.detectorFile)
	}
	return cfg, nil
}

// external points cfg at the stack of --edge, --api and the API key.
func (o *simulateOptions) external(cfg *simulate.Config) error {
	if cfg.Edge == "" {
		cfg.Edge = os.Getenv("SMD_EDGE_URL")
	}
	if cfg.Edge == "" {
		cfg.Edge = "http://127.0.0.1:8080"
	}
	apiURL := o.api
	if apiURL == "" {
		apiURL = os.Getenv("SMD_API_URL")
	}
	fromEdge := apiURL == ""
	if fromEdge {
		apiURL = strings.TrimSuffix(cfg.Edge, "/")
	}
	key, err := (&apiOptions{keyFile: o.keyFile}).apiKey()
	if err != nil {
		return err
	}
	if cfg.API, err = client.New(apiURL, key); err != nil {
		if fromEdge {
			return fmt.Errorf("--edge: %q is not an http(s)://host[:port] URL", cfg.Edge)
		}
		return fmt.Errorf("--api: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return flagError(err)
	}
	return nil
}

func (o *simulateOptions) run(cmd *cobra.Command, _ []string) error {
	if err := o.checkFlags(cmd.Flags()); err != nil {
		return err
	}
	log, err := o.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	cfg := o.cfg
	cfg.Log = log
	if err := cfg.ApplyScenario(o.scenario, cmd.Flags().Changed); err != nil {
		return flagError(err)
	}
	if cfg.ShareIPsMin, cfg.ShareIPsMax, err = parseShareIPs(o.shareIPs); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	target := ""
	if o.serve {
		dcfg, err := o.detector()
		if err != nil {
			return err
		}
		if err := cfg.ValidateViewers(); err != nil {
			return flagError(err)
		}
		st, err := simulate.StartStack(ctx, simulate.StackConfig{Detector: dcfg, Log: log, Version: version})
		if err != nil {
			return fmt.Errorf("--serve: %w", err)
		}
		defer func() {
			if err := st.Close(); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "smd simulate: %s\n", cleanMessage(err.Error()))
			}
		}()
		st.Use(&cfg)
		target = fmt.Sprintf("a stack of its own at %s (scorer %s", cfg.Edge, dcfg.Scorer)
		if len(dcfg.Shadow) > 0 {
			target += ", shadow " + strings.Join(dcfg.Shadow, ", ")
		}
		target += ")"
	} else {
		if err := o.external(&cfg); err != nil {
			return err
		}
		target = cfg.Edge
	}
	sim, err := simulate.New(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "smd simulate: %d sessions for %v against %s (Ctrl-C stops early and reports)\n",
		len(sim.Sessions()), cfg.Duration, target)
	r, err := sim.Run(ctx)
	if err != nil {
		return err
	}
	if o.jsonOut {
		err = printJSON(cmd.OutOrStdout(), r)
	} else {
		err = r.WriteText(cmd.OutOrStdout())
	}
	if err != nil {
		return err
	}
	if o.checkGoals && !r.TargetsMet() {
		var missed []string
		for _, t := range r.Targets {
			if !t.Met {
				missed = append(missed, t.Name+" ("+t.Detail+")")
			}
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "smd: targets missed: %s\n", strings.Join(missed, "; "))
		return errDenied
	}
	return nil
}

// flagError turns "key: problem" errors of simulate.Config into "--key:
// problem", the flag's name.
func flagError(err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		if k, rest, ok := strings.Cut(l, ": "); ok && !strings.ContainsAny(k, " ") {
			lines[i] = "--" + k + ": " + rest
		}
	}
	return fmt.Errorf("%s", strings.Join(lines, "; "))
}

// parseShareIPs reads K or MIN..MAX (or MIN-MAX).
func parseShareIPs(s string) (int, int, error) {
	lo, hi, ok := strings.Cut(s, "..")
	if !ok {
		lo, hi, ok = strings.Cut(s, "-")
	}
	if !ok {
		hi = lo
	}
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("--share-ips: %q is not K or MIN..MAX", s)
	}
	return a, b, nil
}
