package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/smd-media/smd/internal/control/client"
)

// apiOptions are the flags that reach the control plane's API, shared by
// smd keys, sessions and assets.
type apiOptions struct {
	url, keyFile string
	jsonOut      bool
	timeout      time.Duration
}

// addAPIFlags adds the persistent API flags to a command group.
func addAPIFlags(c *cobra.Command, o *apiOptions) {
	f := c.PersistentFlags()
	f.StringVar(&o.url, "api", "", "control plane `URL` (default $SMD_API_URL, else http://127.0.0.1:8080)")
	f.StringVar(&o.keyFile, "api-key-file", "", "`FILE` holding the API key (default $SMD_API_KEY_FILE; or the key itself in $SMD_API_KEY)")
	f.BoolVar(&o.jsonOut, "json", false, "print the API's answer as JSON")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "`DURATION` to wait for the API")
}

// apiHelp is the part of the help shared by the API commands.
const apiHelp = "The API is reached at --api (or $SMD_API_URL) with the API key read from\n" +
	"--api-key-file (or $SMD_API_KEY_FILE), or given in $SMD_API_KEY; never on the command\n" +
	"line, where other users could see it. smd serve writes an admin key to\n" +
	"<data_dir>/api-keys.admin on first start. See docs/api.md."

// client builds the API client.
func (o *apiOptions) client(cmd *cobra.Command) (*client.Client, context.Context, context.CancelFunc, error) {
	u := o.url
	if u == "" {
		u = os.Getenv("SMD_API_URL")
	}
	if u == "" {
		u = "http://127.0.0.1:8080"
	}
	key, err := o.apiKey()
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := client.New(u, key)
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	return c, ctx, cancel, nil
}

// apiKey reads the key from --api-key-file, $SMD_API_KEY_FILE or
// $SMD_API_KEY.
func (o *apiOptions) apiKey() (string, error) {
	file := o.keyFile
	if file == "" {
		file = os.Getenv("SMD_API_KEY_FILE")
	}
	if file == "" {
		if k := os.Getenv("SMD_API_KEY"); k != "" {
			return strings.TrimSpace(k), nil
		}
		return "", errors.New("no API key: give --api-key-file, or set SMD_API_KEY_FILE or SMD_API_KEY")
	}
	if file == "-" {
		return "", errors.New("--api-key-file: give a file, not standard input")
	}
	b, err := readInput(file, nil)
	if err != nil {
		return "", fmt.Errorf("API key file: %w", err)
	}
	k := strings.TrimSpace(string(b))
	if k == "" || strings.ContainsAny(k, "\r\n \t") {
		return "", fmt.Errorf("API key file %s: want one line holding smd_<id>_<secret>", file)
	}
	return k, nil
}

// apiError words a failed call.
func apiError(what string, err error) error {
	var e *client.Error
	if errors.As(err, &e) {
		s := fmt.Sprintf("%s: %s (%d %s)", what, e.Message, e.Status, e.Code)
		return errors.New(s)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// printJSON writes v indented.
// pages reads one page from after, or every page to the end with all;
// it returns the items (never nil) and the cursor after the last page read.
func pages[T any](after string, all bool, fetch func(after string) ([]T, string, error)) ([]T, string, error) {
	items, next := []T{}, after
	for {
		page, n, err := fetch(next)
		if err != nil {
			return nil, "", err
		}
		items, next = append(items, page...), n
		if !all || next == "" {
			return items, next, nil
		}
	}
}

func printJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetEscapeHTML(false)
	e.SetIndent("", "  ")
	return e.Encode(v)
}

// when prints a time, or "-" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func newKeysCmd() *cobra.Command {
	o := &apiOptions{}
	c := &cobra.Command{
		Use:   "keys",
		Short: "List, rotate and import the signing keys (control plane API)",
		Long:  "List, rotate and import the keys that sign viewers' tokens.\n\n" + apiHelp,
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	addAPIFlags(c, o)

	var showSecrets bool
	list := &cobra.Command{
		Use:   "list [--show-secrets]",
		Short: "List the signing keys: id, state, source and their times",
		Long: "List the signing keys: id, state (next, primary, secondary, retired), source (generated or\n" +
			"imported), and the times of creation, promotion, demotion, retirement (retire_after, then\n" +
			"retired), and for the primary its next rotation. Secrets are shown only with --show-secrets,\n" +
			"which needs an admin key.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ctx, cancel, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			keys, err := cl.ListKeys(ctx, showSecrets)
			if err != nil {
				return apiError("keys list", err)
			}
			if o.jsonOut {
				return printJSON(cmd.OutOrStdout(), keys)
			}
			header := "ID\tSTATE\tSOURCE\tCREATED\tPROMOTED\tDEMOTED\tRETIRE_AFTER\tRETIRED\tNEXT_ROTATION"
			if showSecrets {
				header += "\tSECRET"
			}
			rows := make([][]string, 0, len(keys))
			for _, k := range keys {
				r := []string{k.ID, k.State, orDash(k.Source), when(k.CreatedAt), when(k.PromotedAt), when(k.DemotedAt),
					when(k.RetireAfter), when(k.RetiredAt), when(k.NextRotation)}
				if showSecrets {
					r = append(r, k.Secret)
				}
				rows = append(rows, r)
			}
			return table(cmd.OutOrStdout(), header, rows)
		},
	}
	list.Flags().BoolVar(&showSecrets, "show-secrets", false, "also print the secrets (admin key only)")

	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Rotate the signing key now",
		Long: "Ask the control plane to rotate the signing key now: a new key is published to every\n" +
			"edge before it signs. Prints the rotation's phase and the next key's id.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, ctx, cancel, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			st, err := cl.RotateKeys(ctx)
			if err != nil {
				return apiError("keys rotate", err)
			}
			if o.jsonOut {
				return printJSON(cmd.OutOrStdout(), st)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "rotation %s: next key %s, requested at %s\n", st.Phase, orDash(st.NextKID), when(st.RequestedAt))
			return err
		},
	}

	imp := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Replace the key ring with SMDE's Secrets Manager export",
		Long: "Replace the key ring with the keys of an SMDE Secrets Manager export\n" +
			"({\"primary\": {\"uuid\", \"value\"}, \"secondary\": ...}) or a key map ({\"<kid>\": \"<secret>\"}),\n" +
			"read from FILE or standard input (-). Prints the keys, without secrets.",
		Example: "  aws secretsmanager get-secret-value --secret-id <stack>-keys --query SecretString --output text \\\n" +
			"    | smd keys import -",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readInput(args[0], cmd.InOrStdin())
			if err != nil {
				return fmt.Errorf("key export: %w", err)
			}
			cl, ctx, cancel, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			keys, err := cl.ImportKeys(ctx, b)
			if err != nil {
				return apiError("keys import", err)
			}
			if o.jsonOut {
				return printJSON(cmd.OutOrStdout(), keys)
			}
			rows := make([][]string, 0, len(keys))
			for _, k := range keys {
				rows = append(rows, []string{k.ID, k.State})
			}
			return table(cmd.OutOrStdout(), "ID\tSTATE", rows)
		},
	}
	c.AddCommand(list, rotate, imp)
	return c
}
