package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/fleet"
)

// errListingCut is returned when a listing of the edges ends before the
// bucket's last entry: promoting on a partial list could skip an edge.
var errListingCut = errors.New("listing of the live edges cut short")

// liveEdges reads every heartbeat in the smd_edges bucket. Unlike a key
// listing (jetstream's ListKeys and Keys, and fleet.Live built on them,
// end quietly when their context expires, returning part of the bucket),
// it fails unless it has read up to the bucket's last entry: the rotation
// must never believe an edge absent because a listing was cut short.
// Entries that do not decode are kept with their key as edge id and no
// keys: an edge we cannot read is an edge that lacks the key.
func liveEdges(ctx context.Context, kv jetstream.KeyValue) ([]fleet.Heartbeat, error) {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("edges: %w", err)
	}
	defer w.Stop()
	byID := map[string]fleet.Heartbeat{}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("edges: %w: %w", errListingCut, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("edges: %w: watch closed", errListingCut)
			}
			if e == nil { // every entry up to the last has been delivered
				out := make([]fleet.Heartbeat, 0, len(byID))
				for _, h := range byID {
					out = append(out, h)
				}
				slices.SortFunc(out, func(a, b fleet.Heartbeat) int { return strings.Compare(a.EdgeID, b.EdgeID) })
				return out, nil
			}
			if e.Operation() != jetstream.KeyValuePut {
				delete(byID, e.Key())
				continue
			}
			var h fleet.Heartbeat
			if json.Unmarshal(e.Value(), &h) != nil || h.EdgeID == "" {
				h = fleet.Heartbeat{EdgeID: e.Key()}
			}
			byID[e.Key()] = h
		}
	}
}

// stillLacking checks, with a direct read each, the edges this leader saw
// lacking the next key earlier in the rotation and that the last listing
// did not show: an edge whose heartbeat is still there and lacks the key
// is counted again. It guards the promotion against any listing that
// missed an entry.
func stillLacking(ctx context.Context, kv jetstream.KeyValue, kid string, earlier map[string]bool, listed []fleet.Heartbeat) ([]string, error) {
	shown := make(map[string]bool, len(listed))
	for _, h := range listed {
		shown[h.EdgeID] = true
	}
	var out []string
	for id := range earlier {
		if shown[id] {
			continue
		}
		e, err := kv.Get(ctx, id)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue // gone: its heartbeat expired
		}
		if err != nil {
			return nil, fmt.Errorf("edge %s: %w", id, err)
		}
		var h fleet.Heartbeat
		if json.Unmarshal(e.Value(), &h) != nil || !h.HasKey(kid) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out, nil
}
