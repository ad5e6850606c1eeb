package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/smd-media/smd/token/smde"
)

// notChecked is the warning every inspect output carries.
const notChecked = "signature NOT checked: this is what the token says, not whether it is valid (use 'smd token verify')"

// inspectOptions are the flags of "smd token inspect".
type inspectOptions struct {
	jsonOut bool
	now     string
}

func newInspectCmd() *cobra.Command {
	o := &inspectOptions{}
	c := &cobra.Command{
		Use:   "inspect URL|PATH|TOKEN|-",
		Short: "Decode a token without a key and print its header and claims",
		Long: "Decode a token without a key and print its header and claims. The signature is NOT\n" +
			"checked. The argument is a playback URL, a path \"/<token>/...\", a bare token segment\n" +
			"([sessionid.]header.payload.signature), or - to read one of those from standard input.",
		Example: "  smd token inspect https://cdn.example.com/<token>/vod/m1/index.m3u8\n" +
			"  echo \"$URL\" | smd token inspect --json -",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	c.Flags().BoolVar(&o.jsonOut, "json", false, "print JSON")
	c.Flags().StringVar(&o.now, "now", "", "`TIME` the relative times count from: RFC 3339, unix seconds, or +/-duration (default now)")
	return c
}

func (o *inspectOptions) run(cmd *cobra.Command, arg string) error {
	now, err := parseTime("--now", o.now)
	if err != nil {
		return err
	}
	if arg == "-" {
		b, err := readInput("-", cmd.InOrStdin())
		if err != nil {
			return fmt.Errorf("standard input: %w", err)
		}
		arg = string(b)
	}
	seg, err := tokenSegment(arg)
	if err != nil {
		return err
	}
	t, err := smde.Parse(seg)
	if err != nil {
		return fmt.Errorf("cannot decode the token: %w", err)
	}
	out := newInspection(t, now)
	w := cmd.OutOrStdout()
	if o.jsonOut {
		e := json.NewEncoder(w)
		e.SetEscapeHTML(false)
		e.SetIndent("", "  ")
		return e.Encode(out)
	}
	return out.writeText(w)
}

// tokenSegment finds the token segment in a URL, a path or a bare token.
func tokenSegment(s string) (string, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return "", fmt.Errorf("URL: %w", err)
		}
		s = u.EscapedPath()
	}
	s = strings.TrimPrefix(s, "/")
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "", errors.New("no token found: want a URL, a path /<token>/..., or a token")
	}
	return s, nil
}

// inspection is the output of "smd token inspect".
type inspection struct {
	SignatureChecked bool                `json:"signature_checked"`
	Warning          string              `json:"warning"`
	SessionID        string              `json:"session_id"`
	Header           smde.Header         `json:"header"`
	Claims           *smde.Claims        `json:"claims"`
	Times            map[string]timeInfo `json:"times"`
}

// timeInfo is one of exp, nbf and iat in three forms.
type timeInfo struct {
	Unix     int64  `json:"unix"`
	UTC      string `json:"utc"`
	Relative string `json:"relative"`
}

func newInspection(t *smde.Token, now time.Time) *inspection {
	c := t.Claims
	in := &inspection{
		Warning:   notChecked,
		SessionID: t.SessionID,
		Header:    t.Header,
		Claims:    c,
		Times:     map[string]timeInfo{},
	}
	add := func(name string, unix int64, expiry bool) {
		in.Times[name] = timeInfo{unix, formatTime(unix), relative(time.Unix(unix, 0), now, expiry)}
	}
	add("exp", c.Expiry, true)
	if c.HasNotBefore {
		add("nbf", c.NotBefore, false)
	}
	if c.HasIssuedAt {
		add("iat", c.IssuedAt, false)
	}
	return in
}

func (in *inspection) writeText(out io.Writer) error {
	c := in.Claims
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "WARNING: %s\n\n", in.Warning)
	line := func(name, value string) { fmt.Fprintf(w, "%s\t%s\n", name, value) }
	line("session id", orDash(in.SessionID))
	line("alg", in.Header.Alg)
	line("typ", orDash(in.Header.Typ))
	line("kid", in.Header.Kid)
	for _, name := range []string{"exp", "nbf", "iat"} {
		if ti, ok := in.Times[name]; ok {
			line(name, fmt.Sprintf("%d  %s  (%s)", ti.Unix, ti.UTC, ti.Relative))
		} else {
			line(name, "-")
		}
	}
	line("paths", list(c.Paths))
	line("exc", list(c.Exclusions))
	line("ip", strconv.FormatBool(c.IP))
	if c.IP {
		line("ip_ver", strconv.Itoa(c.IPVersion))
	}
	line("co", strconv.FormatBool(c.Country))
	line("co_fallback", strconv.FormatBool(c.CountryFallback))
	line("cty", strconv.FormatBool(c.City))
	line("reg", strconv.FormatBool(c.Region))
	line("reg_fallback", strconv.FormatBool(c.RegionFallback))
	line("ssn", strconv.FormatBool(c.Session))
	line("headers", list(c.Headers))
	line("qs", list(c.Query))
	line("intsig", orDash(c.IntSig))
	return w.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// list joins names with ", ", quoting those that need it.
func list(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = s
		if s == "" || s == "-" || strings.ContainsAny(s, " ,\"\\") || strconv.Quote(s) != `"`+s+`"` {
			out[i] = strconv.Quote(s)
		}
	}
	return strings.Join(out, ", ")
}
