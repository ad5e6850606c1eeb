package main

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of smd, the commit it was built from, and Go's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionLine())
			return err
		},
	}
}

// versionLine is "smd <version> (<go version> <os>/<arch>)", with the
// commit when the build recorded one: "smd dev (commit 1a2b3c4d5e6f,
// modified, 2026-12-07T10:00:00Z; go1.26.8 linux/amd64)".
func versionLine() string {
	bi, _ := debug.ReadBuildInfo()
	return formatVersion(version, bi, runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH)
}

// pseudoVersion matches the end of a Go pseudo-version
// (v0.0.0-20261207163108-c176f166f842, +dirty when modified).
var pseudoVersion = regexp.MustCompile(`-(0\.)?\d{14}-[0-9a-f]{12}(\+dirty)?$`)

// formatVersion builds versionLine from the version set at link time
// ("dev" when none), the module's build information (nil when absent),
// and Go's version and platform.
func formatVersion(v string, bi *debug.BuildInfo, goVersion, platform string) string {
	var vcs []string
	if bi != nil {
		// `go install module@v1.2.3` records the module's version; a
		// build in a clone records a pseudo-version of the commit, which
		// the commit below says better.
		if mv := bi.Main.Version; v == "dev" && mv != "" && mv != "(devel)" && !pseudoVersion.MatchString(mv) {
			v = mv
		}
		var rev, at string
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" {
			vcs = append(vcs, "commit "+rev[:min(12, len(rev))])
			if modified {
				vcs = append(vcs, "modified")
			}
			if at != "" {
				vcs = append(vcs, at)
			}
		}
	}
	build := goVersion + " " + platform
	if len(vcs) > 0 {
		build = strings.Join(vcs, ", ") + "; " + build
	}
	return fmt.Sprintf("smd %s (%s)", v, build)
}
