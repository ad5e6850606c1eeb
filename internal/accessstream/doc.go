// Package accessstream carries access events from the edges to the control
// plane through the NATS JetStream stream SMD_ACCESS, without ever slowing a
// response and without losing an event to a NATS outage.
//
// Edge side, [Publisher]: Log copies the event into a bounded in-memory
// queue and returns; it never blocks and never touches the disk (a full
// queue drops the event and counts it). One goroutine (Run) encodes the
// events as JSON (the field names of the access log file), numbers them,
// and publishes them asynchronously, in batches with a bounded number of
// unacknowledged publishes, to smd.access.<partition>, partition =
// FNV-1a(session id) % 16 (see [Partition]). Each message carries a
// Nats-Msg-Id unique per event, "<edge id>:<sequence>", whose sequence
// grows across restarts, so the stream's duplicate window drops resends.
// While NATS is unreachable, a publish fails or times out, or publishing
// falls behind, events go to an append-only spool of segment files on
// local disk, bounded in bytes (past the bound, events are dropped and
// counted); the spool is sent, oldest first, before any newer event, once
// the stream answers again, also after a restart. Order per edge is kept,
// except that a resent event may follow events stored after it when an
// acknowledgement was lost. Delivery is at least once: a duplicate can
// reach the stream only when a resend comes after the stream's duplicate
// window; consumers drop it by its Nats-Msg-Id ([ConsumerConfig.Dedup]).
//
// Control-plane side, [Consumer]: every partition is owned by exactly one
// process at a time, through a lease per partition in the smd_leases
// bucket, so that several control planes share the work without counting
// an event twice and each sees all the events of the sessions it owns.
// Each process takes at most ceil(partitions / live members). An owned
// partition is read through its durable consumer (<name>_<N>, explicit
// acks) and handed to the handler; on losing the lease, delivery of that
// partition stops before another process can acquire it.
package accessstream
