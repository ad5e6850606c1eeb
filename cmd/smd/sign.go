package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/token/smde"
)

// signOptions are the flags of "smd token sign".
type signOptions struct {
	// Policy.
	policyFile              string
	ip, co, cty, reg, ssn   bool
	coFallback, regFallback bool
	sessionLength           int
	bindHeaders, bindQuery  []string
	paths, exclusions       []string
	exp, nbf                string
	// Viewer.
	viewerFile                string
	viewerIP, country, region string
	city, sessionID           string
	headers, query            []string
	// Key and output.
	keys, kid, playbackURL string
	jsonOut                bool
}

func newSignCmd() *cobra.Command {
	o := &signOptions{}
	c := &cobra.Command{
		Use:   "sign --keys FILE [policy flags] [viewer flags] [--url URL]",
		Short: "Issue a token for a viewer under a policy",
		Long: "Issue a token for a viewer under a policy, as SMDE's SDK does.\n\n" +
			"The policy comes from --policy (SMDE token_policy JSON) and/or the policy flags; the\n" +
			"viewer from --viewer (SMDE viewer_attributes JSON) and/or the viewer flags. Flags\n" +
			"override the files; a repeatable flag replaces the file's whole list.\n\n" +
			"Prints the playback URL with --url, else the token segment ([sessionid.]jwt).",
		Example: "  smd token sign --keys keys.json --path /vod/m1/ --exp +2h --ip --viewer-ip 203.0.113.5 \\\n" +
			"    --url https://cdn.example.com/vod/m1/index.m3u8",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := c.Flags()
	f.SortFlags = false
	f.StringVar(&o.keys, "keys", "", "key `FILE`: JSON map of kid to secret, or SMDE primary/secondary (required)")
	f.StringVar(&o.kid, "kid", "", "`KID` of the signing key, when the key file has several and no primary")
	f.StringVar(&o.playbackURL, "url", "", "playback `URL` to put the token in, e.g. https://cdn.example.com/vod/m1/index.m3u8")
	f.BoolVar(&o.jsonOut, "json", false, "print {playback_url, token, session_id, kid, expires} as JSON")

	f.StringVar(&o.policyFile, "policy", "", "policy `FILE`: SMDE token_policy JSON (- for standard input)")
	f.BoolVar(&o.ip, "ip", false, "bind the viewer's IP address")
	f.BoolVar(&o.co, "co", false, "bind the viewer's country")
	f.BoolVar(&o.cty, "cty", false, "bind the viewer's city")
	f.BoolVar(&o.reg, "reg", false, "bind the viewer's region")
	f.BoolVar(&o.coFallback, "co-fallback", false, "let the edge accept the token when it cannot tell the country")
	f.BoolVar(&o.regFallback, "reg-fallback", false, "let the edge accept the token when it cannot tell the region")
	f.BoolVar(&o.ssn, "ssn", false, "bind a session id (carried before the JWT in the path)")
	f.IntVar(&o.sessionLength, "session-length", 0, "length `N` of a generated session id, 7 to 200 (default 12)")
	f.StringArrayVar(&o.bindHeaders, "bind-header", nil, "bind the value of the request header `NAME` (repeatable)")
	f.StringArrayVar(&o.bindQuery, "bind-query", nil, "bind the value of the query parameter `NAME` (repeatable)")
	f.StringArrayVar(&o.paths, "path", nil, "origin path `PREFIX` the token grants (repeatable; at least one)")
	f.StringArrayVar(&o.exclusions, "exc", nil, "path `PREFIX` needing only a valid signature and time window (repeatable)")
	f.StringVar(&o.exp, "exp", "", "expiry `TIME`: unix seconds, or +N with s, m, h or d, e.g. +2h (required)")
	f.StringVar(&o.nbf, "nbf", "", "not-before `TIME`, unix seconds")

	f.StringVar(&o.viewerFile, "viewer", "", "viewer `FILE`: SMDE viewer_attributes JSON (- for standard input)")
	f.StringVar(&o.viewerIP, "viewer-ip", "", "viewer's `IP` address")
	f.StringVar(&o.country, "country", "", "viewer's ISO 3166-1 alpha-2 country `CC`, e.g. FR")
	f.StringVar(&o.region, "region", "", "viewer's ISO 3166-2 `REGION` without the country, e.g. IDF")
	f.StringVar(&o.city, "city", "", "viewer's `CITY`, e.g. Paris")
	f.StringVar(&o.sessionID, "session-id", "", "session `ID` to bind: letters, digits, _ (default: generated when --ssn)")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "viewer's request header `'Name: value'` (repeatable)")
	f.StringArrayVar(&o.query, "query", nil, "viewer's query parameter `name=value`, taken literally (repeatable)")
	_ = c.MarkFlagRequired("keys")
	return c
}

func (o *signOptions) run(cmd *cobra.Command) error {
	if o.policyFile == "-" && o.viewerFile == "-" {
		return errors.New("--policy and --viewer cannot both read standard input")
	}
	p, err := o.policy(cmd)
	if err != nil {
		return err
	}
	v, err := o.viewer(cmd)
	if err != nil {
		return err
	}
	if p.IP && v.IP == "" {
		return errors.New("the policy binds the viewer IP (ip): give --viewer-ip, or ip in --viewer")
	}
	ring, err := keyring.Load(o.keys)
	if err != nil {
		return err
	}
	key, err := ring.Signing(o.kid)
	if err != nil {
		if errors.Is(err, keyring.ErrNoSigningKey) {
			return fmt.Errorf("key file %s: %w with --kid", o.keys, err)
		}
		return fmt.Errorf("key file %s: %w", o.keys, err)
	}
	s := &smde.Signer{Key: key}
	var out signResult
	var signed *smde.Signed
	if o.playbackURL != "" {
		out.PlaybackURL, signed, err = s.SignURL(p, v, o.playbackURL)
	} else {
		signed, err = s.Sign(p, v)
	}
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	out.Token, out.SessionID, out.KID = signed.Token, signed.SessionID, signed.Header.Kid
	out.Expires = formatTime(signed.Claims.Expiry)
	return out.write(cmd.OutOrStdout(), o.jsonOut)
}

// signResult is the output of "smd token sign --json".
type signResult struct {
	PlaybackURL string `json:"playback_url"`
	Token       string `json:"token"`
	SessionID   string `json:"session_id"`
	KID         string `json:"kid"`
	Expires     string `json:"expires"`
}

func (r *signResult) write(w io.Writer, asJSON bool) error {
	if asJSON {
		e := json.NewEncoder(w)
		e.SetEscapeHTML(false)
		e.SetIndent("", "  ")
		return e.Encode(r)
	}
	s := r.Token
	if r.PlaybackURL != "" {
		s = r.PlaybackURL
	}
	_, err := fmt.Fprintln(w, s)
	return err
}

// policy reads --policy and lays the policy flags over it, then validates
// the result, so that a policy given by flags is held to the same rules as
// SMDE's token_policy JSON.
func (o *signOptions) policy(cmd *cobra.Command) (*smde.Policy, error) {
	p := &smde.Policy{}
	where := "policy"
	if o.policyFile != "" {
		b, err := readInput(o.policyFile, cmd.InOrStdin())
		if err != nil {
			return nil, fmt.Errorf("policy file: %w", err)
		}
		if p, err = smde.DecodePolicy(b); err != nil {
			return nil, fmt.Errorf("policy file %s: %w", o.policyFile, err)
		}
		where = "policy file " + o.policyFile + " with flags"
	}
	flags := cmd.Flags()
	for _, f := range []struct {
		flag string
		dst  *bool
		val  bool
	}{
		{"ip", &p.IP, o.ip}, {"co", &p.Country, o.co}, {"cty", &p.City, o.cty}, {"reg", &p.Region, o.reg},
		{"co-fallback", &p.CountryFallback, o.coFallback}, {"reg-fallback", &p.RegionFallback, o.regFallback},
		{"ssn", &p.Session, o.ssn},
	} {
		if flags.Changed(f.flag) {
			*f.dst = f.val
		}
	}
	for _, f := range []struct {
		flag string
		dst  *[]string
		val  []string
	}{
		{"bind-header", &p.Headers, lower(o.bindHeaders)}, // SMDE's edge sees header names in lower case
		{"bind-query", &p.QueryStrings, o.bindQuery},
		{"path", &p.Paths, o.paths},
		{"exc", &p.Exclusions, o.exclusions},
	} {
		if flags.Changed(f.flag) {
			*f.dst = f.val
		}
	}
	if flags.Changed("session-length") {
		if o.sessionLength < 7 || o.sessionLength > smde.MaxSessionID {
			return nil, fmt.Errorf("--session-length: %d is not from 7 to %d", o.sessionLength, smde.MaxSessionID)
		}
		p.SessionAutoGenerate = smde.IntString(strconv.Itoa(o.sessionLength))
	}
	if flags.Changed("exp") {
		p.Expiry = smde.IntString(o.exp)
	}
	if flags.Changed("nbf") {
		p.NotBefore = smde.IntString(o.nbf)
	}
	if err := p.Validate(); err != nil {
		if where == "policy" {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return p, nil
}

func lower(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = strings.ToLower(s)
	}
	return out
}

// viewer reads --viewer and lays the viewer flags over it.
func (o *signOptions) viewer(cmd *cobra.Command) (*smde.Viewer, error) {
	v := &smde.Viewer{}
	ipFrom := "--viewer-ip"
	if o.viewerFile != "" {
		b, err := readInput(o.viewerFile, cmd.InOrStdin())
		if err != nil {
			return nil, fmt.Errorf("viewer file: %w", err)
		}
		if v, err = smde.ParseViewer(b); err != nil {
			return nil, fmt.Errorf("viewer file %s: %w", o.viewerFile, err)
		}
		ipFrom = "viewer file " + o.viewerFile + ": ip"
	}
	flags := cmd.Flags()
	for _, f := range []struct {
		flag string
		dst  *string
		val  string
	}{
		{"viewer-ip", &v.IP, o.viewerIP},
		{"country", &v.Country, o.country},
		{"region", &v.Region, o.region},
		{"city", &v.City, o.city},
		{"session-id", &v.SessionID, o.sessionID},
	} {
		if flags.Changed(f.flag) {
			*f.dst = f.val
		}
	}
	if flags.Changed("viewer-ip") {
		ipFrom = "--viewer-ip"
	}
	if v.IP != "" {
		if _, err := parseAddr(ipFrom, v.IP); err != nil {
			return nil, err
		}
	}
	for _, l := range o.headers {
		name, value, err := parseHeaderLine(l)
		if err != nil {
			return nil, err
		}
		if v.Headers == nil {
			v.Headers = map[string]string{}
		}
		for k := range v.Headers {
			if strings.EqualFold(k, name) {
				delete(v.Headers, k)
			}
		}
		v.Headers[name] = value
	}
	for _, q := range o.query {
		name, value, ok := strings.Cut(q, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--query %q: want name=value", q)
		}
		if v.Query == nil {
			v.Query = map[string]string{}
		}
		v.Query[name] = value
	}
	return v, nil
}
