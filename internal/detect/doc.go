// Package detect finds shared and restreamed sessions in the access events
// and revokes them: SMDE's automatic session revocation, in seconds
// instead of minutes.
//
// A Detector keeps per-session features over a sliding lookback window,
// fed one event at a time by Observe (safe from many goroutines, a few
// hundred nanoseconds, bounded memory: at most max_sessions sessions of
// about 1.6 KB). Every interval, Evaluate scores every session with every
// configured scorer: the active one (concurrency by default, or smde,
// SMDE's formula) revokes through a Revoker with type auto, its score and
// feature breakdown and a TTL, never a session that is allowlisted or
// held off after an operator lifted its automatic revocation, and never
// one that is already revoked; the shadow scorers' decisions are only
// reported, to compare scorers. Time is injected: every window is
// computed from the event times and the clock given to Evaluate.
//
// All events of one session must reach one Detector (the access stream is
// partitioned by session hash); several control planes each run one on
// their share of the partitions. See docs/detector.md.
package detect
