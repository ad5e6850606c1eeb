package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/smd-media/smd/internal/asset"
)

func newAssetsCmd() *cobra.Command {
	o := &apiOptions{}
	c := &cobra.Command{
		Use:   "assets",
		Short: "Create, read, update, delete, list and import assets (control plane API)",
		Long: "Manage the catalog the token API issues playback URLs for: assets of id, url_path,\n" +
			"endpoint_hostname and token_policy (SMDE's asset table). Asset files are JSON:\n\n" +
			"  {\"id\": \"m1\", \"url_path\": \"/vod/m1/index.m3u8\", \"endpoint_hostname\": \"cdn.example.com\",\n" +
			"   \"token_policy\": {\"ip\": true, \"headers\": [\"user-agent\"], \"paths\": [\"/vod/m1/\"], \"exp\": \"+2h\"}}\n\n" +
			apiHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	addAPIFlags(c, o)

	// show prints one asset.
	show := func(cmd *cobra.Command, a *asset.Asset, verb string) error {
		if o.jsonOut || verb == "" {
			return printJSON(cmd.OutOrStdout(), a)
		}
		_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s %s (revision %d)\n", verb, a.ID, a.Revision)
		return err
	}
	get := &cobra.Command{
		Use:   "get ID",
		Short: "Print an asset as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ctx, cancel, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			a, err := cl.Asset(ctx, args[0])
			if err != nil {
				return apiError("assets get", err)
			}
			return show(cmd, a, "")
		},
	}
	create := &cobra.Command{
		Use:   "create FILE|-",
		Short: "Create an asset from its JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readAssetFile(cmd, args[0])
			if err != nil {
				return err
			}
			cl, ctx, cancel, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			a, err := cl.CreateAsset(ctx, b)
			if err != nil {
				return apiError("assets create", err)
			}
			return show(cmd, a, "created")
		},
	}
	update := &cobra.Command{
		Use:   "update FILE|-",
		Short: "Replace an existing asset with its JSON",
		Long: "Replace an existing asset with its JSON. With \"revision\" in the JSON (as assets get\n" +
			"prints it), only that revision is replaced, so a concurrent change is not lost.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readAssetFile(cmd, args[0])
			if err != nil {
				return err
			}
			// The id travels in the path too: read it from the JSON.
			a, err := asset.Parse(b)
			if err != nil {
				return fmt.Errorf("asset file %s: %w", args[0], err)
			}
			cl, ctx, cancel, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			u, err := cl.UpdateAsset(ctx, a.ID, b)
			if err != nil {
				return apiError("assets update", err)
			}
			return show(cmd, u, "updated")
		},
	}
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an asset",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, ctx, cancel, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			if err := cl.DeleteAsset(ctx, args[0]); err != nil {
				return apiError("assets delete", err)
			}
			if o.jsonOut {
				return printJSON(cmd.OutOrStdout(), map[string]any{"id": args[0], "deleted": true})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return err
		},
	}
	var after string
	var limit int
	var all bool
	list := &cobra.Command{
		Use:   "list [--after ID] [--limit N] [--all]",
		Short: "List assets in id order",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 || limit > 1000 {
				return fmt.Errorf("--limit: %d is not from 1 to 1000", limit)
			}
			cl, ctx, cancel, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			items, next, err := pages(after, all, func(after string) ([]*asset.Asset, string, error) {
				return cl.ListAssets(ctx, after, limit)
			})
			if err != nil {
				return apiError("assets list", err)
			}
			if o.jsonOut {
				return printJSON(cmd.OutOrStdout(), map[string]any{"items": items, "next": next})
			}
			rows := make([][]string, 0, len(items))
			for _, a := range items {
				rows = append(rows, []string{a.ID, a.EndpointHostname, a.URLPath, strings.Join(a.TokenPolicy.Paths, ","), string(a.TokenPolicy.Expiry)})
			}
			if err := table(cmd.OutOrStdout(), "ID\tHOSTNAME\tURL_PATH\tPATHS\tEXP", rows); err != nil {
				return err
			}
			if next != "" {
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "more: --after %s\n", next)
			}
			return err
		},
	}
	list.Flags().StringVar(&after, "after", "", "start after this asset `ID` (the cursor of the previous page)")
	list.Flags().IntVar(&limit, "limit", 0, "page size `N`, 1 to 1000 (default 100)")
	list.Flags().BoolVar(&all, "all", false, "follow the pages to the end")

	imp := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Import SMDE's asset table (DynamoDB JSON)",
		Long: "Import assets from SMDE's DynamoDB table: one item, an array of items, the output of\n" +
			"aws dynamodb scan or get-item, or an export's JSON lines. Existing ids are replaced.\n" +
			"Every item is checked before any is written; an error names the item and the field.",
		Example: "  aws dynamodb scan --table-name <stack>-videos --output json > assets.json\n" +
			"  smd assets import assets.json",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readImport(cmd, args[0])
			if err != nil {
				return err
			}
			// Check locally first: the same rules, with the file's name.
			if _, err := asset.ParseDynamoDB(b); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			cl, ctx, cancel, err := o.client(cmd)
			if err != nil {
				return err
			}
			defer cancel()
			ids, err := cl.ImportAssets(ctx, b)
			if err != nil {
				return apiError("assets import", err)
			}
			if o.jsonOut {
				return printJSON(cmd.OutOrStdout(), map[string]any{"imported": len(ids), "ids": ids})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "imported %d assets: %s\n", len(ids), strings.Join(ids, " "))
			return err
		},
	}
	c.AddCommand(list, get, create, update, del, imp)
	return c
}

// readAssetFile reads one asset's JSON.
func readAssetFile(cmd *cobra.Command, path string) ([]byte, error) {
	b, err := readInput(path, cmd.InOrStdin())
	if err != nil {
		return nil, fmt.Errorf("asset file: %w", err)
	}
	return b, nil
}

// readImport reads an import file, which may be larger than other inputs.
func readImport(cmd *cobra.Command, path string) ([]byte, error) {
	b, err := readInput(path, cmd.InOrStdin())
	if err != nil {
		return nil, fmt.Errorf("import file: %w", err)
	}
	return b, nil
}
