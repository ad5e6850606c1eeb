// Package accessstream carries access events from the edges to the control
// plane through the NATS JetStream stream SMD_ACCESS, without ever slowing a
// response and without losing an event to a NATS outage.
//
// Edge side, [Publisher]: Log encodes the event as a JSON line
// ([accesslog.AppendEvent], the access log file's fields; on the caller's
// goroutine, where the event is hot in the cache) into the open batch of
// its partition, partition = FNV-1a(session id) % 16 (see [Partition]),
// and returns; it never blocks and never touches the disk (a full queue
// drops the event and counts it). A batch is sealed once it holds Batch
// events or BatchBytes, or Linger (20 ms) after its first event, and one
// goroutine (Run) publishes each sealed batch as one message to
// smd.access.<partition>: asynchronously, with a bounded number of
// unacknowledged events. The batch is the unit of publishing,
// spooling and deduplication: its Nats-Msg-Id, "<edge id>:<sequence>"
// with one sequence per batch growing across restarts, and its bytes
// never change, so the stream's duplicate window drops a resend whole
// (the message format: see [DecodeMessage]). While NATS is unreachable, a
// publish fails or times out, or publishing falls behind, batches go to an
// append-only spool of segment files on local disk, bounded in bytes
// (past the bound, events are dropped and counted); the spool is sent,
// oldest first, before any newer batch, once the stream answers again,
// also after a restart. Order is kept per partition (so per session);
// batches of different partitions go in the order they were sealed,
// except that a resent batch may follow batches stored after it when an
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
// acks), each message unpacked and its events handed to the handler one
// by one (a line that is not an event is counted and skipped); on losing
// the lease, delivery of that partition stops before another process can
// acquire it.
package accessstream
