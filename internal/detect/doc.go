// Package detect finds shared, restreamed and downloaded sessions in the
// access events and revokes them: SMDE's automatic session revocation, in
// seconds instead of minutes.
//
// A Detector keeps per-session features over a sliding lookback window,
// fed one event at a time by Observe (safe from many goroutines, under a
// microsecond, bounded memory: at most max_sessions sessions of about
// 1.6 KB): per viewer (address and user agent) its request rate, its
// renditions (told apart by the segment paths' templates, see package
// mediatime) with their segment numbers, media buckets and pace; per
// place (/24 or /48) when it was occupied, its country and network
// operator. Every interval, Evaluate scores every session with every
// configured scorer (a goroutine per core); between evaluations, TickHot
// judges at once the sessions a request may have put over the threshold.
// The active scorer (concurrency by default, or smde, SMDE's formula)
// revokes through a Revoker with type auto, its score, breakdown,
// explanation in words and evidence, never a session that is
// allowlisted, held off after an operator lifted its automatic
// revocation, already revoked, or ended; the shadow scorers' decisions
// are only reported, to compare scorers, and every reported decision can
// be kept (DecisionStore). Inspect answers what the detector thinks of one
// live session. Time is injected: every window is computed from the event
// times and the clock given to Evaluate.
//
// All events of one session must reach one Detector (the access stream is
// partitioned by session hash); several control planes each run one on
// their share of the partitions. It must not import the edge or the
// control plane's API; it writes through the Revoker, Allowlist and
// DecisionStore it is given. See docs/detector.md.
package detect
