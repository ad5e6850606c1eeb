package detect

import (
	"math"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigValidate(t *testing.T) {
	def := DefaultConfig()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		key string
		adj func(*Config)
	}{
		{"detector.scorer", func(c *Config) { c.Scorer = "magic" }},
		{"detector.shadow[0]", func(c *Config) { c.Shadow = []string{"magic"} }},
		{"detector.shadow[0]", func(c *Config) { c.Shadow = []string{ScorerConcurrency} }},
		{"detector.shadow[1]", func(c *Config) { c.Scorer, c.Shadow = ScorerSMDE, []string{ScorerConcurrency, ScorerConcurrency} }},
		{"detector.interval", func(c *Config) { c.Interval = 0 }},
		{"detector.lookback", func(c *Config) { c.Lookback = Duration(time.Millisecond) }},
		{"detector.lookback", func(c *Config) { c.Lookback = Duration(48 * time.Hour) }},
		{"detector.min_bytes", func(c *Config) { c.MinBytes = -1 }},
		{"detector.max_sessions", func(c *Config) { c.MaxSessions = 0 }},
		{"detector.revoke_ttl", func(c *Config) { c.RevokeTTL = 0 }},
		{"detector.smde.ip_rate", func(c *Config) { c.SMDE.IPRate = math.NaN() }},
		{"detector.smde.ip_penalty", func(c *Config) { c.SMDE.IPPenalty = -1 }},
		{"detector.smde.referer_penalty", func(c *Config) { c.SMDE.RefererPenalty = math.Inf(1) }},
		{"detector.smde.ua_penalty", func(c *Config) { c.SMDE.UAPenalty = -0.5 }},
		{"detector.smde.min_sessions", func(c *Config) { c.SMDE.MinSessions = 0 }},
		{"detector.smde.min_session_duration", func(c *Config) { c.SMDE.MinSessionDuration = 0 }},
		{"detector.smde.score_threshold", func(c *Config) { c.SMDE.ScoreThreshold = 1 }},
		{"detector.concurrency.slot", func(c *Config) { c.Concurrency.Slot = 0 }},
		{"detector.concurrency.min_overlap", func(c *Config) { c.Concurrency.MinOverlap = 65 }},
		{"detector.concurrency.min_switches", func(c *Config) { c.Concurrency.MinSwitches = 0 }},
		{"detector.concurrency.location_weight", func(c *Config) { c.Concurrency.LocationWeight = -1 }},
		{"detector.concurrency.country_weight", func(c *Config) { c.Concurrency.CountryWeight = math.NaN() }},
		{"detector.concurrency.speed_limit", func(c *Config) { c.Concurrency.SpeedLimit = 0 }},
		{"detector.concurrency.min_span", func(c *Config) { c.Concurrency.MinSpan = Duration(time.Hour) }},
		{"detector.concurrency.realtime_rate", func(c *Config) { c.Concurrency.RealtimeRate = -1 }},
		{"detector.concurrency.min_sessions", func(c *Config) { c.Concurrency.MinSessions = 0 }},
		{"detector.concurrency.threshold", func(c *Config) { c.Concurrency.Threshold = 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			c := DefaultConfig()
			tc.adj(&c)
			err := c.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.key+":") {
				t.Fatalf("err %v, want one naming %s", err, tc.key)
			}
			if _, err := New(c, Deps{}); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

// TestConfigYAML: the keys of docs/detector.md decode, with days.
func TestConfigYAML(t *testing.T) {
	c := DefaultConfig()
	doc := `
scorer: smde
shadow: []
dry_run: true
interval: 5s
lookback: 15m
revoke_ttl: 1d
smde: {ip_penalty: 2, min_session_duration: 1m, score_threshold: 3}
concurrency: {slot: 2s, min_overlap: 3, realtime_rate: 0.5, threshold: 1.5}
`
	d := yaml.NewDecoder(strings.NewReader(doc))
	d.KnownFields(true)
	if err := d.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Scorer != ScorerSMDE || len(c.Shadow) != 0 || !c.DryRun || c.Interval.D() != 5*time.Second ||
		c.RevokeTTL.D() != 24*time.Hour || c.SMDE.IPPenalty != 2 || c.SMDE.IPRate != 1 || c.SMDE.MinSessionDuration.D() != time.Minute ||
		c.Concurrency.Slot.D() != 2*time.Second || c.Concurrency.MinOverlap != 3 || c.Concurrency.MinSwitches != 3 {
		t.Errorf("decoded %+v", c)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, " 2m ": 2 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got.D() != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "soon", "d", "-1d", "7days"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
	var c Config
	if err := yaml.Unmarshal([]byte("interval: [1]"), &c); err == nil {
		t.Error("a list decoded as a duration")
	}
}
