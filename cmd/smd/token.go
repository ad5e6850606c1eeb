package main

import "github.com/spf13/cobra"

func newTokenCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "token",
		Short: "Sign, inspect and verify tokens",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	c.AddCommand(newSignCmd(), newInspectCmd(), newVerifyCmd())
	return c
}
