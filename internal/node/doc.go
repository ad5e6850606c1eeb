// Package node assembles the roles of one smd process from their parts:
// the NATS connection (embedded server or external cluster), the edge fed
// by key and revocation watches with its heartbeats, and the control plane
// (API, key rotation). cmd/smd's serve, control and edge commands are thin
// wrappers around it.
package node
