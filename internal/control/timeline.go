package control

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/smd-media/smd/internal/timeline"
)

// Timelines reads a session's timeline from the access stream.
type Timelines interface {
	// Timeline returns session id's activity from from to to; it stops
	// reading when ctx ends and marks the timeline partial.
	Timeline(ctx context.Context, id string, from, to time.Time) (timeline.Timeline, error)
}

const (
	// defaultTimelineSpan and maxTimelineSpan bound ?since=.
	defaultTimelineSpan = 15 * time.Minute
	maxTimelineSpan     = 24 * time.Hour
	// timelineTimeout bounds the reading of the stream.
	timelineTimeout = 5 * time.Second
)

// sessionTimeline answers GET /v1/sessions/{id}/timeline?since=15m.
func (a *API) sessionTimeline(w http.ResponseWriter, r *http.Request, _ *call) error {
	id, err := pathSessionID(r)
	if err != nil {
		return err
	}
	span := defaultTimelineSpan
	if v, ok := r.URL.Query()["since"]; ok {
		d, err := time.ParseDuration(v[0])
		if len(v) != 1 || err != nil || d < time.Minute || d > maxTimelineSpan {
			return badRequest(codeInvalidField, "since", "since: want one duration from 1m to 24h, e.g. 15m")
		}
		span = d
	}
	if a.deps.Timelines == nil {
		return unavailable("the session timeline", errors.New("no access stream with this control plane"))
	}
	ctx, cancel := context.WithTimeout(r.Context(), timelineTimeout)
	defer cancel()
	now := a.now()
	t, err := a.deps.Timelines.Timeline(ctx, id, now.Add(-span), now)
	if err != nil {
		return unavailable("the access stream", err)
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}
