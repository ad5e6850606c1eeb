// Package simulate drives a running smd edge with synthetic viewers and
// measures how the stack's piracy defences treat them: `smd simulate`.
//
// It is a real client of a real stack: it asks the control plane's token
// API for one playback URL per session (with an API key), plays those URLs
// against the edge over HTTP, and reads revocations back through the API.
// Against an external stack that is all it sees, and it knows nothing of
// the detector's internals. A [Stack] is an smd serve it runs in its own
// process instead (`smd simulate --serve`), with a [DecisionLog] on the
// detector's decision hook: the report then also has a row per scorer,
// active and shadow, from every decision of each.
//
// Viewers are told apart the way an edge behind a CDN tells them apart:
// by the X-Forwarded-For address and the CloudFront-Viewer-Country header
// of each request. The edge believes those only from its trusted proxies
// and only with geo source "headers", so the edge under test must list the
// simulator's address in trusted_proxies (127.0.0.1/32 when both run on
// one machine). The synthetic addresses come from the documentation
// ranges (RFC 5737, RFC 3849) and, for homes, the carrier-grade NAT range
// (RFC 6598); see addrplan.go and docs/simulate.md.
//
// Session kinds (one model type per file):
//
//   - [KindLegit]: one device playing live HLS at the real segment
//     cadence (playlist refresh, each new segment once), one video
//     rendition plus audio, switching rendition rarely.
//   - [KindLegitIPChange]: the same, moving once from one network to
//     another mid-session (Wi-Fi to cellular).
//   - [KindLegitHome]: one token on two devices of one home: two addresses
//     in one /24, two user agents, at the same time.
//   - [KindShared]: one token replayed at once from K addresses in K
//     countries, each replica a player at the real cadence.
//   - [KindRestreamer]: one address pulling every rendition's segments as
//     fast as it can (up to a configured request rate).
//   - [KindImpersonator]: a legitimate session's id written in front of a
//     token of the impersonator's own on exc paths, pulled from 4
//     addresses: it must revoke no one, since nothing proves that id.
//
// The cadence of legitimate viewers is never compressed: a run takes the
// wall-clock time it is given. A session counts as blocked at its first
// answer with the edge's "revoked" status (403 unless the edge overrides
// it); its time to block runs from its first abusive request to that
// answer. The [Report] gives, for the active scorer (a label), precision,
// recall, legitimate sessions blocked, tokens shared to 3 or more
// addresses blocked, time to block (median and p95), and request counts,
// with the targets of issue 5 checked; with a [DecisionLog], the same per
// scorer from its decisions ([ScorerStats]: flagged instead of blocked,
// time to flag on the detector's clock).
package simulate
