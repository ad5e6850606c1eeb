// Package natsstore holds smd's state in NATS JetStream: it starts an
// embedded NATS server (the single-machine default of `smd serve` and
// `smd demo`) or connects to external NATS URLs, and creates the key-value
// buckets and the stream of DESIGN.md idempotently:
//
//	smd_keys     KV      the key ring, one entry, secrets encrypted
//	smd_revoked  KV      session id -> revocation; per-key TTL
//	smd_assets   KV      asset id -> asset
//	smd_edges    KV      edge id -> heartbeat; entries expire (TTL)
//	smd_leases   KV      leader leases of control planes; entries expire
//	smd_allowed  KV      session id -> allowance the detector honours; per-key TTL
//	SMD_ACCESS   stream  access events on smd.access.<partition>
//
// The same code talks to an embedded server and to a cluster; only the
// replica count differs (1 on one node, 3 in a cluster).
package natsstore
