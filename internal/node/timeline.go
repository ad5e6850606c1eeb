package node

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/accessstream"
	"github.com/smd-media/smd/internal/timeline"
)

// timelines serves GET /v1/sessions/{id}/timeline from the access
// stream: the session's partition read from the span's start, its events
// kept, until the stream's end or ctx's.
type timelines struct {
	js  jetstream.JetStream
	now func() time.Time
}

func (t timelines) Timeline(ctx context.Context, id string, from, to time.Time) (timeline.Timeline, error) {
	b := timeline.NewBuilder(id, from, to)
	complete := false
	_, err := accessstream.Tail(ctx, t.js, accessstream.TailConfig{
		Since: t.now().Sub(from), Session: id, Now: t.now,
	}, func(e *accesslog.Event) bool {
		if e.Time.After(to) {
			complete = true
			return false
		}
		b.Add(e)
		return true
	})
	if err != nil && ctx.Err() == nil {
		return timeline.Timeline{}, err
	}
	tl := b.Timeline()
	// Tail returns nil at the stream's end as when ctx ends.
	tl.Partial = !complete && ctx.Err() != nil
	return tl, nil
}
