package main

import (
	"runtime/debug"
	"testing"
)

// TestFormatVersion: the link-time version wins, else the module's
// version, else dev; the commit, whether the tree was modified and the
// commit's time when the build recorded them.
func TestFormatVersion(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "1a2b3c4d5e6f7a8b9c0d"},
		{Key: "vcs.time", Value: "2026-12-07T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}
	for _, tc := range []struct {
		name, v string
		bi      *debug.BuildInfo
		want    string
	}{
		{"no build info", "dev", nil, "smd dev (go1.26.8 linux/amd64)"},
		{"a clone's build", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs},
			"smd dev (commit 1a2b3c4d5e6f, modified, 2026-12-07T10:00:00Z; go1.26.8 linux/amd64)"},
		{"clean tree", "dev", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs[:3]},
			"smd dev (commit 1a2b3c4d5e6f, 2026-12-07T10:00:00Z; go1.26.8 linux/amd64)"},
		{"pseudo-version of a clone", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261207163108-c176f166f842+dirty"}, Settings: vcs[:2]},
			"smd dev (commit 1a2b3c4d5e6f; go1.26.8 linux/amd64)"},
		{"pseudo-version after a tag", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.1-0.20261207163108-c176f166f842"}},
			"smd dev (go1.26.8 linux/amd64)"},
		{"go install @version", "dev", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "smd v1.4.0 (go1.26.8 linux/amd64)"},
		{"link-time version", "1.2.3", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: vcs[:2]},
			"smd 1.2.3 (commit 1a2b3c4d5e6f; go1.26.8 linux/amd64)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatVersion(tc.v, tc.bi, "go1.26.8", "linux/amd64"); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
