package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of smd and of Go it was built with",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionLine())
			return err
		},
	}
}

// versionLine is "smd <version> (<go version> <os>/<arch>)".
func versionLine() string {
	return fmt.Sprintf("smd %s (%s %s/%s)", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
