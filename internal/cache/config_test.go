package cache

import (
	"strings"
	"testing"
	"time"
)

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   []string // substrings of the error; none for a valid config
	}{
		{name: "valid", modify: func(*Config) {}},
		{name: "zero TTLs and no stale", modify: func(c *Config) { c.PlaylistTTL, c.SegmentTTL, c.StaleIfError = 0, 0, 0 }},
		{name: "max bytes zero", modify: func(c *Config) { c.MaxBytes = 0 }, want: []string{"MaxBytes must be positive"}},
		{name: "max object bytes negative", modify: func(c *Config) { c.MaxObjectBytes = -1 }, want: []string{"MaxObjectBytes must be positive"}},
		{name: "object larger than cache", modify: func(c *Config) { c.MaxObjectBytes = c.MaxBytes + 1 }, want: []string{"MaxObjectBytes", "must not exceed MaxBytes"}},
		{name: "playlist ttl negative", modify: func(c *Config) { c.PlaylistTTL = -time.Second }, want: []string{"PlaylistTTL must not be negative"}},
		{name: "segment ttl negative", modify: func(c *Config) { c.SegmentTTL = -time.Second }, want: []string{"SegmentTTL"}},
		{name: "stale negative", modify: func(c *Config) { c.StaleIfError = -time.Second }, want: []string{"StaleIfError"}},
		{name: "connect timeout missing", modify: func(c *Config) { c.ConnectTimeout = 0 }, want: []string{"ConnectTimeout must be positive"}},
		{name: "header timeout missing", modify: func(c *Config) { c.ResponseHeaderTimeout = 0 }, want: []string{"ResponseHeaderTimeout"}},
		{name: "read timeout missing", modify: func(c *Config) { c.ReadTimeout = 0 }, want: []string{"ReadTimeout"}},
		{name: "several at once", modify: func(c *Config) { c.MaxBytes, c.ReadTimeout = -5, 0 }, want: []string{"MaxBytes", "ReadTimeout"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(newClock())
			tc.modify(&cfg)
			c, err := New(cfg)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
				t.Fatalf("New accepted an invalid config")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	c := newTestCache(t, testConfig(newClock()))
	for range 3 {
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
}
