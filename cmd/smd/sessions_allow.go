package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/control"
)

// newAllowCmds returns smd sessions allow, disallow and allowed: the
// sessions the detector leaves alone.
func newAllowCmds(o *apiOptions) []*cobra.Command {
	var reason, ttl string
	allow := &cobra.Command{
		Use:   "allow SESSION_ID [--reason TEXT] [--ttl DURATION]",
		Short: "Allowlist a session: the detector never revokes it",
		Long: "Allowlist a session: the detector never revokes it (an operator still may, with\n" +
			"smd sessions revoke). Allowing again replaces the reason and restarts the TTL.",
		Example: "  smd sessions allow WCFZIKTpysML --reason 'QA test rig' --ttl 30d",
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
			r, err := cl.Allow(ctx, args[0], reason, d)
			if err != nil {
				return apiError("sessions allow", err)
			}
			if o.jsonOut {
				return printJSON(cmd.OutOrStdout(), r)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "allowlisted %s %s\n", r.SessionID, until(r.ExpiresAt, "removed"))
			return err
		},
	}
	allow.Flags().StringVar(&reason, "reason", "", "why, for other operators: `TEXT` of at most 1024 bytes")
	allow.Flags().StringVar(&ttl, "ttl", "", "`DURATION` of the allowlisting, e.g. 2h, 30d (default: until removed)")

	disallow := &cobra.Command{
		Use:   "disallow SESSION_ID",
		Short: "Remove a session's allowlisting (or hold-off): the detector may revoke it again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ctx, cancel, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			if err := cl.Disallow(ctx, args[0]); err != nil {
				return apiError("sessions disallow", err)
			}
			if o.jsonOut {
				return printJSON(cmd.OutOrStdout(), map[string]any{"session_id": args[0], "disallowed": true})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "removed %s from the allowlist\n", args[0])
			return err
		},
	}

	var after string
	var limit int
	var all bool
	allowed := &cobra.Command{
		Use:   "allowed [--after ID] [--limit N] [--all]",
		Short: "List the sessions the detector leaves alone, in id order",
		Long: "List the allowlisted sessions (kind allow) and those held off after an operator lifted\n" +
			"their automatic revocation (kind hold_off), in id order, paged as smd sessions list.",
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
			items, next, err := pages(after, all, func(after string) ([]control.Allowance, string, error) {
				return cl.ListAllowed(ctx, after, limit)
			})
			if err != nil {
				return apiError("sessions allowed", err)
			}
			if o.jsonOut {
				return printJSON(cmd.OutOrStdout(), map[string]any{"items": items, "next": next})
			}
			rows := make([][]string, 0, len(items))
			for _, a := range items {
				rows = append(rows, []string{a.SessionID, a.Kind, when(a.AllowedAt), when(a.ExpiresAt), orDash(a.By), orDash(a.Reason)})
			}
			if err := table(cmd.OutOrStdout(), "SESSION\tKIND\tALLOWED\tEXPIRES\tBY\tREASON", rows); err != nil {
				return err
			}
			if next != "" {
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "more: --after %s\n", next)
			}
			return err
		},
	}
	allowed.Flags().StringVar(&after, "after", "", "start after this session `ID` (the cursor of the previous page)")
	allowed.Flags().IntVar(&limit, "limit", 0, "page size `N`, 1 to 1000 (default 100)")
	allowed.Flags().BoolVar(&all, "all", false, "follow the pages to the end")
	return []*cobra.Command{allow, disallow, allowed}
}

// ttlFlag reads --ttl; "" is 0.
func ttlFlag(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	v, err := config.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("--ttl: %q is not a duration such as 90s, 2h or 7d", s)
	}
	return v.D(), nil
}

// until says how long a revocation or allowance lasts: "until <time>", or
// "until <event>" when it does not expire.
func until(expires time.Time, event string) string {
	if expires.IsZero() {
		return "until " + event
	}
	return "until " + when(expires)
}
