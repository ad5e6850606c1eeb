package edge

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies pins the pipeline's boundary: it links what a request
// needs (token formats, the cache, access events, viewer identification,
// the HTTP engine) and nothing of the process around it, so that the
// middleware package and the Caddy module can embed it without NATS, the
// control plane, the detector or the configuration files.
func TestDependencies(t *testing.T) {
	forbidden := []string{
		"github.com/nats-io/",
		"github.com/smd-media/smd/internal/config",
		"github.com/smd-media/smd/internal/control",
		"github.com/smd-media/smd/internal/detect",
		"github.com/smd-media/smd/internal/keyring",
		"github.com/smd-media/smd/internal/revocation",
		"github.com/smd-media/smd/internal/node",
		"github.com/smd-media/smd/internal/natsstore",
		"github.com/spf13/cobra",
	}
	for _, pkg := range []string{"github.com/smd-media/smd/internal/edge", "github.com/smd-media/smd/middleware"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 10 {
			t.Fatalf("go list -deps %s listed %d packages: %q", pkg, len(deps), deps)
		}
		for _, d := range deps {
			for _, f := range forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
