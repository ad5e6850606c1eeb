package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnits: the units of deploy/systemd pass systemd-analyze
// verify (with ExecStart pointing at the binary these tests built), their
// hardening scores an exposure of at most 2.5 of 10 (systemd-analyze
// security --offline), and the command line they run is one smd takes.
// systemd-analyze comes with Debian's systemd package (scripts/test.sh
// installs it); no systemd runs here, so the units are not started.
func TestSystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is not installed (apt-get install systemd; scripts/test.sh does)")
	}
	units, _ := filepath.Glob(filepath.Join("..", "..", "deploy", "systemd", "smd-*.service"))
	if len(units) != 3 {
		t.Fatalf("units %v, want edge, serve and control", units)
	}
	dir := t.TempDir()
	for _, u := range units {
		name := filepath.Base(u)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(u)
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			var exec0 string
			for _, line := range strings.Split(text, "\n") {
				if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
					exec0 = v
				}
			}
			args := strings.Fields(exec0)
			if len(args) < 2 || args[0] != "/usr/local/bin/smd" {
				t.Fatalf("ExecStart %q", exec0)
			}
			// The command line is smd's: its flags parse (--help stops
			// before anything starts).
			if r := smd(t, "", append(args[1:], "--help")...); r.code != 0 {
				t.Errorf("smd %s --help: exit %d: %s", strings.Join(args[1:], " "), r.code, r.stderr)
			}
			local := filepath.Join(dir, name)
			if err := os.WriteFile(local, []byte(strings.ReplaceAll(text, "/usr/local/bin/smd", smdBin)), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(analyze, "verify", local).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
				t.Errorf("systemd-analyze verify: %v\n%s", err, out)
			}
			if out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=25", local).CombinedOutput(); err != nil {
				t.Errorf("systemd-analyze security: exposure over 2.5: %v\n%s", err, out[max(0, len(out)-300):])
			}
		})
	}
}
