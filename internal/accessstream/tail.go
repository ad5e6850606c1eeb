package accessstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/natsstore"
)

// TailConfig selects what [Tail] reads.
type TailConfig struct {
	// Since is how far back to start reading (default 5 minutes).
	Since time.Duration
	// Session, when set, keeps only that session's events, read from its
	// partition alone.
	Session string
	// Follow keeps reading new events until the context ends; otherwise
	// Tail returns once it has read what the stream held when it began.
	Follow bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// tailWait is how long one fetch waits for messages.
const tailWait = time.Second

// Tail reads the access stream's events from Since ago and hands them to
// fn in stream order (the partitions' messages interleaved as stored)
// until fn returns false, the stream has no more (unless Follow), or ctx
// ends. It uses an ordered consumer, which acknowledges nothing and
// leaves the detector's and the exporter's durable consumers alone. It
// returns how many events it could not decode (counted, skipped).
func Tail(ctx context.Context, js jetstream.JetStream, cfg TailConfig, fn func(*accesslog.Event) bool) (bad int, err error) {
	if cfg.Since <= 0 {
		cfg.Since = 5 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	start := cfg.Now().Add(-cfg.Since)
	occ := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &start}
	if cfg.Session != "" {
		occ.FilterSubjects = []string{Subject(Partition(cfg.Session, ""))}
	}
	oc, err := js.OrderedConsumer(ctx, natsstore.StreamAccess, occ)
	if err != nil {
		return 0, fmt.Errorf("access stream: %w", err)
	}
	for {
		batch, err := oc.Fetch(256, jetstream.FetchMaxWait(tailWait))
		if err != nil {
			if ctx.Err() != nil {
				return bad, nil
			}
			return bad, fmt.Errorf("access stream: %w", err)
		}
		got, done := 0, false
		for msg := range batch.Messages() {
			got++
			if done {
				continue // drain the fetch
			}
			_, b, _ := DecodeMessage(msg.Headers(), msg.Data(), func(e *accesslog.Event) {
				if !done && (cfg.Session == "" || e.SessionID == cfg.Session) {
					done = !fn(e)
				}
			})
			bad += b
			if meta, err := msg.Metadata(); err == nil && meta.NumPending == 0 && !cfg.Follow {
				done = true
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return bad, fmt.Errorf("access stream: %w", err)
		}
		if done || (got == 0 && !cfg.Follow) || ctx.Err() != nil {
			return bad, nil
		}
	}
}
