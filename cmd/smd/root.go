package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK       = 0 // success, or ALLOW
	exitDenied   = 1 // DENY
	exitBadInput = 2 // any error: bad flags, files, JSON, addresses, ...
)

// errDenied is returned after a DENY verdict has been printed.
var errDenied = errors.New("denied")

// newRootCmd builds the command tree.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "smd",
		Short: "Issue, inspect and verify SMDE-compatible media tokens",
		Long: "smd issues, inspects and verifies per-viewer tokens in media URLs, in the format of\n" +
			"AWS Secure Media Delivery at the Edge (SMDE).\n\n" +
			"Exit codes: 0 success or ALLOW, 1 DENY, 2 bad input.",
		Version:           version,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		Args:              cobra.NoArgs,
		RunE:              func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetVersionTemplate(versionLine() + "\n")
	root.AddCommand(newVersionCmd(), newTokenCmd(), newOriginCmd(), newEdgeCmd(), newServeCmd(), newControlCmd(), newDemoCmd())
	root.AddCommand(newKeysCmd())
	root.AddCommand(newSessionsCmd())
	root.AddCommand(newAssetsCmd())
	root.AddCommand(newSimulateCmd())
	root.AddCommand(newAccessCmd())
	return root
}

// run executes the command line and returns the exit code. Errors are
// printed on one line as "smd: <message>".
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "smd: internal error: %s\n", cleanMessage(fmt.Sprint(r)))
			code = exitBadInput
		}
	}()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errDenied):
		return exitDenied
	}
	fmt.Fprintf(stderr, "smd: %s\n", cleanMessage(err.Error()))
	return exitBadInput
}

// jwtLike matches what could be a token, [sessionid.]header.payload.signature,
// so that no error message repeats a token given on the command line.
var jwtLike = regexp.MustCompile(`(?:[A-Za-z0-9_-]+\.)?[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)

// cleanMessage keeps an error message on one line and masks tokens.
func cleanMessage(s string) string {
	s = jwtLike.ReplaceAllString(s, "<token>")
	return strings.Join(strings.Fields(s), " ")
}
