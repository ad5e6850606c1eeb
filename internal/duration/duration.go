// Package duration holds the duration type of smd's configuration files:
// Go's duration syntax ("90s", "1h30m") with an optional leading number of
// days ("7d", "1d12h"), read from YAML. It is a leaf package so that both
// internal/config and internal/detect (which config embeds) use it.
package duration

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as Go writes durations ("90s",
// "1h30m") or with days ("7d", "1d12h").
type Duration time.Duration

// Parse reads a duration with an optional leading number of days.
func Parse(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	var days int64
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 || n > 100_000 {
			return 0, fmt.Errorf("%q is not a duration such as 90s, 5m, 2h or 7d", s)
		}
		days, s = n, s[i+1:]
		if s == "" {
			return Duration(time.Duration(days) * 24 * time.Hour), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 90s, 5m, 2h or 7d", s)
	}
	return Duration(time.Duration(days)*24*time.Hour + d), nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String implements fmt.Stringer.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return errors.New("want a duration such as 90s, 5m, 2h or 7d")
	}
	v, err := Parse(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
