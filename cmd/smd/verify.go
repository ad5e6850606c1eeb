package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// verifyOptions are the flags of "smd token verify".
type verifyOptions struct {
	keys                  string
	viewerIP              string
	country, region, city string
	headers               []string
	method, now           string
	clockSkew             time.Duration
}

func newVerifyCmd() *cobra.Command {
	o := &verifyOptions{}
	c := &cobra.Command{
		Use:   "verify URL --keys FILE --viewer-ip IP [viewer flags]",
		Short: "Check a playback URL as the edge would, for a given viewer",
		Long: "Check a playback URL as the edge would, for a given viewer: signature, time window,\n" +
			"path and every viewer binding. URL is http(s)://host/<token>/path?query or the\n" +
			"request target /<token>/path?query alone.\n\n" +
			"Prints \"ALLOW origin_path=... session_id=... kid=... expires=...\" and exits 0, or\n" +
			"\"DENY reason=<reason> status=<http status> (<detail>)\" and exits 1.",
		Example: "  smd token verify --keys keys.json --viewer-ip 203.0.113.5 \\\n" +
			"    https://cdn.example.com/<token>/vod/m1/index.m3u8",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd.OutOrStdout(), args[0]) },
	}
	f := c.Flags()
	f.SortFlags = false
	f.StringVar(&o.keys, "keys", "", "key `FILE`: JSON map of kid to secret, or SMDE primary/secondary (required)")
	f.StringVar(&o.viewerIP, "viewer-ip", "", "viewer's `IP` address (required)")
	f.StringVar(&o.country, "country", "", "viewer's ISO 3166-1 alpha-2 country `CC` as the edge sees it (default unknown)")
	f.StringVar(&o.region, "region", "", "viewer's ISO 3166-2 `REGION` without the country (default unknown)")
	f.StringVar(&o.city, "city", "", "viewer's `CITY` (default unknown)")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "request header `'Name: value'` (repeatable)")
	f.StringVar(&o.method, "method", "GET", "HTTP `METHOD`")
	f.StringVar(&o.now, "now", "", "`TIME` of the request: RFC 3339, unix seconds, or +/-duration from now (default now)")
	f.DurationVar(&o.clockSkew, "clock-skew", 0, "how far exp and nbf may be overstepped, a `DURATION` such as 30s")
	_ = c.MarkFlagRequired("keys")
	_ = c.MarkFlagRequired("viewer-ip")
	return c
}

func (o *verifyOptions) run(out io.Writer, rawURL string) error {
	target, err := requestTarget(rawURL)
	if err != nil {
		return err
	}
	ip, err := parseAddr("--viewer-ip", o.viewerIP)
	if err != nil {
		return err
	}
	h, err := parseHeaders(o.headers)
	if err != nil {
		return err
	}
	now, err := parseTime("--now", o.now)
	if err != nil {
		return err
	}
	if o.clockSkew < 0 {
		return fmt.Errorf("--clock-skew: %s is negative", o.clockSkew)
	}
	ring, err := keyring.Load(o.keys)
	if err != nil {
		return err
	}
	req := &token.Request{
		Method: o.method,
		Target: target,
		Header: h,
		IP:     ip,
		Geo:    token.Geo{Country: o.country, Region: o.region, City: o.city},
		Now:    now,
	}
	v := smde.NewVerifier(smde.Options{ClockSkew: o.clockSkew, CacheEntries: -1})
	g, err := v.Verify(req, ring)
	if err != nil {
		var te *token.Error
		if !errors.As(err, &te) {
			return fmt.Errorf("verify: %w", err)
		}
		fmt.Fprintf(out, "DENY reason=%s status=%d (%s)\n", te.Reason, te.Reason.Status(), te.Detail)
		return errDenied
	}
	fmt.Fprintf(out, "ALLOW origin_path=%s session_id=%s kid=%s expires=%s", g.OriginPath, orDash(g.SessionID), g.KeyID,
		g.Expires.UTC().Format(time.RFC3339))
	if g.RawQuery != "" {
		fmt.Fprintf(out, " query=%s", g.RawQuery)
	}
	if g.Excluded {
		fmt.Fprint(out, " excluded=true")
	}
	_, err = fmt.Fprintln(out)
	return err
}
