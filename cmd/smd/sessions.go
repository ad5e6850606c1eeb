package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/detect"
)

func newSessionsCmd() *cobra.Command {
	o := &apiOptions{}
	c := &cobra.Command{
		Use:   "sessions",
		Short: "Revoke, unrevoke, list and allowlist viewer sessions (control plane API)",
		Long: "Revoke a viewer session at every edge (its requests get 403), lift a revocation, list\n" +
			"revoked sessions with the detector's scores, and keep sessions out of the detector's\n" +
			"reach (allow). Session ids are SMDE's: 1-200 letters, digits or '_'.\n\n" + apiHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	addAPIFlags(c, o)

	var reason, ttl string
	revoke := &cobra.Command{
		Use:   "revoke SESSION_ID [--reason TEXT] [--ttl DURATION]",
		Short: "Revoke a session at every edge",
		Long: "Revoke a session: every edge refuses its requests with 403 within moments. Revoking\n" +
			"again replaces the reason and restarts the TTL.",
		Example: "  smd sessions revoke WCFZIKTpysML --reason 'shared on a forum' --ttl 7d",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := ttlFlag(ttl)
			if err != nil {
				return err
			}
			cl, ctx, cancel, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			r, err := cl.Revoke(ctx, args[0], reason, d)
			if err != nil {
				return apiError("sessions revoke", err)
			}
			if o.jsonOut {
				return printJSON(cmd.OutOrStdout(), r)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "revoked %s %s\n", r.SessionID, until(r.ExpiresAt, "unrevoked"))
			return err
		},
	}
	revoke.Flags().StringVar(&reason, "reason", "", "why, for other operators: `TEXT` of at most 1024 bytes")
	revoke.Flags().StringVar(&ttl, "ttl", "", "`DURATION` of the revocation, e.g. 90s, 2h, 7d (default: until unrevoked)")

	unrevoke := &cobra.Command{
		Use:   "unrevoke SESSION_ID",
		Short: "Lift a session's revocation",
		Long: "Lift a session's revocation. Lifting an automatic (detector) revocation also holds the\n" +
			"detector off the session for a while (see smd sessions allowed), so that it does not\n" +
			"revoke it again at once from the same evidence.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ctx, cancel, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			if err := cl.Unrevoke(ctx, args[0]); err != nil {
				return apiError("sessions unrevoke", err)
			}
			if o.jsonOut {
				return printJSON(cmd.OutOrStdout(), map[string]any{"session_id": args[0], "unrevoked": true})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "unrevoked %s\n", args[0])
			return err
		},
	}

	var after string
	var limit int
	var all bool
	list := &cobra.Command{
		Use:   "list [--after ID] [--limit N] [--all]",
		Short: "List revoked sessions, in id order",
		Long: "List revoked sessions in id order, one page (--limit, default 100) from --after; --all\n" +
			"follows the pages to the end. A page that is not the last ends with the cursor to pass\n" +
			"to --after.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 || limit > 1000 {
				return fmt.Errorf("--limit: %d is not from 1 to 1000", limit)
			}
			cl, ctx, cancel, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			items, next, err := pages(after, all, func(after string) ([]control.Revocation, string, error) {
				return cl.ListRevoked(ctx, after, limit)
			})
			if err != nil {
				return apiError("sessions list", err)
			}
			if o.jsonOut {
				return printJSON(cmd.OutOrStdout(), map[string]any{"items": items, "next": next})
			}
			rows := make([][]string, 0, len(items))
			for _, e := range items {
				rows = append(rows, []string{e.SessionID, e.Type, score(e), when(e.RevokedAt), when(e.ExpiresAt), orDash(e.By), orDash(e.Reason)})
			}
			if err := table(cmd.OutOrStdout(), "SESSION\tTYPE\tSCORE\tREVOKED\tEXPIRES\tBY\tREASON", rows); err != nil {
				return err
			}
			if next != "" {
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "more: --after %s\n", next)
			}
			return err
		},
	}
	list.Flags().StringVar(&after, "after", "", "start after this session `ID` (the cursor of the previous page)")
	list.Flags().IntVar(&limit, "limit", 0, "page size `N`, 1 to 1000 (default 100)")
	list.Flags().BoolVar(&all, "all", false, "follow the pages to the end")
	get := &cobra.Command{
		Use:   "get SESSION_ID",
		Short: "Show a session's revocation, with the detector's score and its breakdown",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return showOne(o, cmd, "sessions get", func(cl *client.Client, ctx context.Context) (control.Revocation, error) {
				return cl.Revocation(ctx, args[0])
			}, printRevocation)
		},
	}
	why := &cobra.Command{
		Use:   "why SESSION_ID",
		Short: "Show what the detector thinks of a session: live features and every scorer's score, and stored decisions",
		Long: "Ask the detector why a session was, or was not, revoked: the control plane asks the detectors\n" +
			"over NATS for the session's live features and every scorer's score (over its threshold or not,\n" +
			"with each term in words), and reads the latest stored decision of each scorer (active, shadow,\n" +
			"dry run) from smd_decisions. A session without a request in the lookback has no live view.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return showOne(o, cmd, "sessions why", func(cl *client.Client, ctx context.Context) (control.SessionDetector, error) {
				return cl.SessionDetector(ctx, args[0])
			}, printSessionDetector)
		},
	}
	c.AddCommand(revoke, unrevoke, list, get, why)
	c.AddCommand(newAllowCmds(o)...)
	return c
}

// score prints a revocation's score, "-" for a manual one: four digits,
// more when four would round it onto the threshold it was compared with
// (threshold_applied among the features).
func score(e control.Revocation) string {
	if e.Type != "auto" {
		return "-"
	}
	return detect.FormatScore(e.Score, e.Features["threshold_applied"])
}

// showOne fetches one thing from the API and prints it, as JSON with
// --json, else with print.
func showOne[T any](o *apiOptions, cmd *cobra.Command, what string, fetch func(*client.Client, context.Context) (T, error),
	print func(io.Writer, T) error) error {
	cl, ctx, cancel, err := o.client(cmd)
	if err != nil {
		return err
	}
	defer cancel()
	r, err := fetch(cl, ctx)
	if err != nil {
		return apiError(what, err)
	}
	if o.jsonOut {
		return printJSON(cmd.OutOrStdout(), r)
	}
	return print(cmd.OutOrStdout(), r)
}

// labeled appends a row per line to rows, the label on the first.
func labeled(rows [][]string, label string, lines ...string) [][]string {
	for i, l := range lines {
		if i > 0 {
			label = ""
		}
		rows = append(rows, []string{label, l})
	}
	return rows
}

// printSessionDetector writes the detector's view of a session.
func printSessionDetector(w io.Writer, r control.SessionDetector) error {
	rows := [][]string{{"session", r.SessionID}}
	add := func(label string, lines ...string) { rows = labeled(rows, label, lines...) }
	if r.Live == nil {
		add("live", r.LiveNote)
	} else {
		l := r.Live
		state := "playing"
		if l.Ended {
			state = "ended or paused (never revoked so)"
		}
		add("live", fmt.Sprintf("at %s, last request %s, %s", when(l.Time), when(l.LastRequest), state))
		for _, sc := range l.Scores {
			verdict := "under its threshold"
			if sc.Over {
				verdict = "OVER its threshold"
			}
			add(sc.Scorer+" ("+sc.Role+")", fmt.Sprintf("score %s, %s", detect.FormatScore(sc.Score, sc.Features["threshold_applied"]), verdict))
			add("", sc.Explanation...)
		}
		if ev := l.Evidence; ev != nil {
			add("addresses", strings.Join(ev.Addresses, ", "))
			add("countries", strings.Join(ev.Countries, ", "))
			if len(ev.ASNs) > 0 {
				add("operators", strings.Join(ev.ASNs, ", "))
			}
			add("user agents", ev.UserAgents...)
			if len(ev.Renditions) > 0 {
				add("renditions", strings.Join(ev.Renditions, ", "))
			}
		}
	}
	if len(r.Decisions) == 0 {
		add("decisions", "none stored")
	}
	for i, d := range r.Decisions {
		label := ""
		if i == 0 {
			label = "decisions"
		}
		add(label, fmt.Sprintf("%s %s: score %s, outcome %s", when(d.Time), d.Scorer, detect.FormatScore(d.Score, d.Features["threshold_applied"]), orDash(d.Outcome)))
		add("", d.Explanation...)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintln(tw, printableRow(row))
	}
	return tw.Flush()
}

// printRevocation writes one revocation, its features sorted by name.
func printRevocation(w io.Writer, r control.Revocation) error {
	rows := [][]string{
		{"session", r.SessionID}, {"type", r.Type}, {"score", score(r)}, {"reason", orDash(r.Reason)},
		{"by", orDash(r.By)}, {"revoked", when(r.RevokedAt)}, {"expires", when(r.ExpiresAt)},
	}
	list := func(label string, lines []string) { rows = labeled(rows, label, lines...) }
	list("why", r.Explanation)
	if ev := r.Evidence; ev != nil {
		joined := func(label string, items []string) {
			if len(items) > 0 {
				list(label, []string{fmt.Sprintf("%s (%d)", strings.Join(items, ", "), len(items))})
			}
		}
		joined("addresses", ev.Addresses)
		joined("networks", ev.Networks)
		joined("countries", ev.Countries)
		joined("operators", ev.ASNs)
		list("user agents", ev.UserAgents)
		joined("renditions", ev.Renditions)
		if !ev.From.IsZero() {
			rows = append(rows, []string{"requests", when(ev.From) + " to " + when(ev.To)})
		}
	}
	names := slices.Sorted(maps.Keys(r.Features))
	for i, k := range names {
		label := ""
		if i == 0 {
			label = "features"
		}
		rows = append(rows, []string{label, k + " = " + strconv.FormatFloat(r.Features[k], 'g', 6, 64)})
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintln(tw, printableRow(row))
	}
	return tw.Flush()
}
