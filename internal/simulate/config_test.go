package simulate

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control/client"
)

func TestConfigValidate(t *testing.T) {
	api, err := client.New("http://127.0.0.1:8080", "")
	if err != nil {
		t.Fatal(err)
	}
	good := func() Config {
		c := classicConfig()
		c.Edge, c.API = "http://127.0.0.1:8080", api
		return c
	}
	if c := good(); c.Validate() != nil {
		t.Fatalf("defaults: %v", c.Validate())
	}
	for _, tc := range []struct {
		name, want string
		change     func(*Config)
	}{
		{"edge", "edge:", func(c *Config) { c.Edge = "127.0.0.1:8080" }},
		{"edge query", "edge:", func(c *Config) { c.Edge = "http://e/?a=b" }},
		{"edge path", "edge:", func(c *Config) { c.Edge = "http://e/live/" }},
		{"no api", "api:", func(c *Config) { c.API = nil }},
		{"duration", "duration:", func(c *Config) { c.Duration = 0 }},
		{"long duration", "duration:", func(c *Config) { c.Duration = 25 * time.Hour }},
		{"negative legit", "legit:", func(c *Config) { c.Legit = -1 }},
		{"fraction", "legit-ip-change:", func(c *Config) { c.LegitIPChange = 1.5 }},
		{"fractions", "legit-home:", func(c *Config) { c.LegitIPChange, c.LegitHome = 0.6, 0.6 }},
		{"shared", "shared:", func(c *Config) { c.Shared = -2 }},
		{"share ips 1", "share-ips:", func(c *Config) { c.ShareIPsMin, c.ShareIPsMax = 1, 3 }},
		{"share ips order", "share-ips:", func(c *Config) { c.ShareIPsMin, c.ShareIPsMax = 4, 3 }},
		{"share ips many", "share-ips:", func(c *Config) { c.ShareIPsMax = MaxShareIPs + 1 }},
		{"restreamers", "restreamers:", func(c *Config) { c.Restreamers = -1 }},
		{"rate", "restreamer-rate:", func(c *Config) { c.RestreamerRate = -1 }},
		{"nobody", "sessions in all", func(c *Config) { c.Legit, c.Shared, c.Restreamers, c.Impersonators = 0, 0, 0, 0 }},
		{"impersonators", "impersonators:", func(c *Config) { c.Impersonators = -1 }},
		{"impersonators without victims", "impersonators:", func(c *Config) { c.Legit = 0 }},
		{"impersonator rate", "impersonator-rate:", func(c *Config) { c.ImpersonatorRate = 0 }},
		{"crowd", "sessions in all", func(c *Config) { c.Legit = MaxSessions }},
		{"status", "blocked-status:", func(c *Config) { c.BlockedStatus = 200 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSplitAndShareIPs(t *testing.T) {
	c := DefaultConfig()
	if ip, home := c.legitSplit(); ip != 10 || home != 10 {
		t.Errorf("split of 50: %d, %d", ip, home)
	}
	c.Legit, c.LegitIPChange, c.LegitHome = 3, 0.5, 0.5
	if ip, home := c.legitSplit(); ip+home > 3 {
		t.Errorf("split of 3: %d, %d", ip, home)
	}
	c = DefaultConfig()
	var ks []int
	for j := range 6 {
		ks = append(ks, c.shareIPs(j))
	}
	if want := []int{3, 4, 5, 3, 4, 5}; !slices.Equal(ks, want) {
		t.Errorf("share IPs %v, want %v", ks, want)
	}
}

// classicConfig is DefaultConfig with the classic scenario's kinds only.
func classicConfig() Config {
	c := DefaultConfig()
	if err := c.ApplyScenario(ScenarioClassic, nil); err != nil {
		panic(err)
	}
	return c
}

// TestScenarios: each scenario sets every count, and a kind's own flag
// wins over it.
func TestScenarios(t *testing.T) {
	for _, name := range Scenarios {
		c := DefaultConfig()
		if err := c.ApplyScenario(name, func(flag string) bool { return flag == "households" }); err != nil {
			t.Fatal(err)
		}
		if c.Households != DefaultConfig().Households {
			t.Errorf("%s: households %d, the flag's value is kept", name, c.Households)
		}
		abusive := c.Shared + c.Restreamers + c.Wide + c.WideIntl + c.Relays + c.Downloaders4x + c.Downloaders10x
		switch name {
		case ScenarioHardLegit:
			if abusive != 0 || c.Seekers != 5 || c.Legit != 20 {
				t.Errorf("%s: %+v", name, c)
			}
		case ScenarioClassic:
			if c.Wide+c.Relays+c.CGNAT != 0 || c.Shared != DefaultShared {
				t.Errorf("%s: %+v", name, c)
			}
		case ScenarioHiding:
			if c.Wide != 3 || c.Downloaders10x != 3 || c.Seekers != 0 {
				t.Errorf("%s: %+v", name, c)
			}
		}
	}
	c := DefaultConfig()
	if err := c.ApplyScenario("nope", nil); err == nil || !strings.Contains(err.Error(), `scenario: "nope" is not one of`) {
		t.Errorf("unknown scenario: %v", err)
	}
}
