// Package fleet describes the live edges: each edge publishes a Heartbeat
// to the smd_edges bucket (key = edge id) every few seconds; entries expire
// when an edge stops renewing them, so the bucket holds the live edges.
// The control plane reads it to know, for instance, when every live edge
// holds a new key.
package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Heartbeat is what an edge reports about itself.
type Heartbeat struct {
	// EdgeID names the edge (its config id).
	EdgeID string `json:"edge_id"`
	// Version is the smd version of the edge.
	Version string `json:"version,omitempty"`
	// Started is when the edge process started.
	Started time.Time `json:"started"`
	// At is when this heartbeat was written.
	At time.Time `json:"at"`
	// KeysRevision is the smd_keys revision of the key ring the edge holds
	// (0: none from NATS, e.g. a key file or a snapshot of unknown age).
	KeysRevision uint64 `json:"keys_revision"`
	// KeyIDs are the ids of the verification keys the edge holds.
	KeyIDs []string `json:"key_ids"`
	// RevokedRevision is the last smd_revoked revision the edge applied.
	RevokedRevision uint64 `json:"revoked_revision"`
	// Revoked is the number of revoked sessions held.
	Revoked int `json:"revoked"`
	// FromSnapshot is set while the edge serves from its local snapshot
	// because NATS was unreachable at start.
	FromSnapshot bool `json:"from_snapshot,omitempty"`
	// Requests is the number of requests served since start.
	Requests uint64 `json:"requests"`
	// Rejected is the number of requests refused (token or revocation).
	Rejected uint64 `json:"rejected"`
}

// HasKey reports whether the edge holds the key id.
func (h *Heartbeat) HasKey(kid string) bool {
	for _, k := range h.KeyIDs {
		if k == kid {
			return true
		}
	}
	return false
}

// Publish writes h to the bucket under its edge id.
func Publish(ctx context.Context, kv jetstream.KeyValue, h *Heartbeat) error {
	if h.EdgeID == "" {
		return errors.New("fleet: heartbeat without an edge id")
	}
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = kv.Put(ctx, h.EdgeID, b)
	return err
}

// Live returns the heartbeats in the bucket (the edges that renewed theirs
// within the bucket's TTL). Entries that do not decode are skipped.
func Live(ctx context.Context, kv jetstream.KeyValue) ([]Heartbeat, error) {
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("fleet: list edges: %w", err)
	}
	var out []Heartbeat
	for k := range lister.Keys() {
		e, err := kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("fleet: edge %s: %w", k, err)
		}
		var h Heartbeat
		if json.Unmarshal(e.Value(), &h) == nil {
			out = append(out, h)
		}
	}
	// The listing ends quietly when ctx does: a partial list must not pass
	// for the whole fleet.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fleet: list edges: %w", err)
	}
	return out, nil
}
