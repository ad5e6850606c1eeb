package detect

import "github.com/smd-media/smd/internal/duration"

// Duration is the configuration's duration ("90s", "7d"), shared with
// internal/config.
type Duration = duration.Duration

// ParseDuration reads a duration with an optional leading number of days.
func ParseDuration(s string) (Duration, error) { return duration.Parse(s) }
