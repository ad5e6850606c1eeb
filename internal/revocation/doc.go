// Package revocation holds the revoked sessions: the in-memory Set that the
// edge checks on every request (sharded, incremental, 1,000,000 entries at
// a few tens of nanoseconds per check), the Store that the control plane
// writes to the smd_revoked bucket in NATS JetStream (one entry per session
// id, expiring through JetStream's per-key TTL), the Watcher that keeps an
// edge's Set equal to that bucket and persists it to a local snapshot file
// so that an edge starts and keeps serving while NATS is away, the
// file-based FileWatcher of `smd edge --revoked-file`, and the AllowStore
// of the smd_allowed bucket: the sessions the detector never revokes
// (allowlisted, or held off after an operator lifted an automatic
// revocation).
//
// An entry whose ExpiresAt has passed stops counting at once, even when the
// bucket's expiry marker has not reached the edge (an edge cut off from
// NATS); revocation errs on the side of refusing: an unreadable update or
// snapshot never un-revokes anyone.
package revocation
