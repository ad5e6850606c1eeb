package control

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// Detector answers what the detector thinks of a session: its live
// features and scores (from whichever control plane's detector holds the
// session), and its stored decisions. Optional: without it,
// /v1/sessions/{id}/detector answers 503.
type Detector interface {
	// Inspect returns the live inspection of session id; false when no
	// detector holds it (no request in the lookback, or no detector
	// answered in time).
	Inspect(ctx context.Context, id string) (Inspection, bool, error)
	// Decisions returns the stored decisions about session id, at most
	// one per scorer (the latest).
	Decisions(ctx context.Context, id string) ([]StoredDecision, error)
	// Top returns the n live sessions with the highest active scores
	// across the detectors, highest first; false when no detector
	// answered in time.
	Top(ctx context.Context, n int) ([]Inspection, bool, error)
}

// Inspection is the detector's live view of a session (detect.Inspection).
type Inspection struct {
	SessionID   string        `json:"session_id"`
	Time        time.Time     `json:"time"`
	LastRequest time.Time     `json:"last_request"`
	Ended       bool          `json:"ended"`
	Scores      []ScoreReport `json:"scores"`
	Evidence    *Evidence     `json:"evidence,omitempty"`
}

// ScoreReport is one scorer's judgement of a live session (detect.Score).
type ScoreReport struct {
	Scorer      string             `json:"scorer"`
	Role        string             `json:"role"`
	Score       float64            `json:"score"`
	Threshold   float64            `json:"threshold"`
	Over        bool               `json:"over"`
	Features    map[string]float64 `json:"features"`
	Explanation []string           `json:"explanation"`
}

// StoredDecision is a decision of the detector as kept in smd_decisions
// (detect.Decision): active, shadow or dry run, with its outcome.
type StoredDecision struct {
	Time        time.Time          `json:"time"`
	Scorer      string             `json:"scorer"`
	SessionID   string             `json:"session_id"`
	Score       float64            `json:"score"`
	Threshold   float64            `json:"threshold"`
	Active      bool               `json:"active"`
	Features    map[string]float64 `json:"features"`
	Explanation []string           `json:"explanation"`
	Evidence    *Evidence          `json:"evidence,omitempty"`
	Ended       bool               `json:"ended,omitempty"`
	Outcome     string             `json:"outcome,omitempty"`
}

// SessionDetector is the answer of GET /v1/sessions/{id}/detector.
type SessionDetector struct {
	SessionID string `json:"session_id"`
	// Live is the live inspection; null when no detector holds the
	// session, and LiveNote says so.
	Live     *Inspection `json:"live"`
	LiveNote string      `json:"live_note,omitempty"`
	// Decisions are the stored decisions, the latest per scorer.
	Decisions []StoredDecision `json:"decisions"`
	// Revocation is the session's revocation, null when it is not
	// revoked: the outcome, beside what led to it.
	Revocation *Revocation `json:"revocation"`
}

// inspectTimeout bounds the wait for the detectors' answer.
const inspectTimeout = 2 * time.Second

func (a *API) sessionDetector(w http.ResponseWriter, r *http.Request, _ *call) error {
	id, err := pathSessionID(r)
	if err != nil {
		return err
	}
	if a.deps.Detector == nil {
		return unavailable("the detector", errors.New("no detector runs with this control plane"))
	}
	// The detectors that do not hold the session stay silent: the wait
	// for an answer may use all of inspectTimeout, so it gets a context of
	// its own and the stores the request's.
	ictx, cancel := context.WithTimeout(r.Context(), inspectTimeout)
	out := SessionDetector{SessionID: id, Decisions: []StoredDecision{}}
	live, ok, err := a.deps.Detector.Inspect(ictx, id)
	cancel()
	ctx := r.Context()
	switch {
	case err != nil && !errors.Is(err, context.DeadlineExceeded):
		return unavailable("the detector", err)
	case ok:
		out.Live = &live
	default:
		out.LiveNote = "no detector holds the session: no request counted in the lookback, or no detector answered within " + inspectTimeout.String()
	}
	ds, err := a.deps.Detector.Decisions(ctx, id)
	if err != nil {
		return unavailable("the decisions store", err)
	}
	if ds != nil {
		out.Decisions = ds
	}
	rev, ok, err := a.deps.Sessions.Get(ctx, id)
	if err != nil {
		return unavailable("the revocation store", err)
	}
	if ok {
		out.Revocation = &rev
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// TopSessions is the answer of GET /v1/sessions/top.
type TopSessions struct {
	// Items are the live sessions with the highest active scores, highest
	// first, each with every scorer's breakdown and explanation.
	Items []TopSession `json:"items"`
	// Note says why the list may be short or empty.
	Note string `json:"note,omitempty"`
}

// TopSession is one session of GET /v1/sessions/top: the detector's
// inspection and the session's revocation (null when not revoked).
type TopSession struct {
	Inspection
	Revocation *Revocation `json:"revocation"`
}

// maxTop bounds GET /v1/sessions/top's limit (detect.MaxTop).
const maxTop = 100

func (a *API) topSessions(w http.ResponseWriter, r *http.Request, _ *call) error {
	limit := 20
	if v := r.URL.Query()["limit"]; len(v) > 0 {
		n, err := strconv.Atoi(v[0])
		if len(v) > 1 || err != nil || n < 1 || n > maxTop {
			return badRequest(codeBadRequest, "limit", "limit: want one integer from 1 to %d", maxTop)
		}
		limit = n
	}
	if a.deps.Detector == nil {
		return unavailable("the detector", errors.New("no detector runs with this control plane"))
	}
	ctx, cancel := context.WithTimeout(r.Context(), inspectTimeout)
	defer cancel()
	items, ok, err := a.deps.Detector.Top(ctx, limit)
	if err != nil {
		return unavailable("the detector", err)
	}
	out := TopSessions{Items: make([]TopSession, 0, len(items))}
	for _, in := range items {
		ts := TopSession{Inspection: in}
		rev, revoked, err := a.deps.Sessions.Get(ctx, in.SessionID)
		if err != nil {
			return unavailable("the revocation store", err)
		}
		if revoked {
			ts.Revocation = &rev
		}
		out.Items = append(out.Items, ts)
	}
	if !ok {
		out.Note = "no detector answered within " + inspectTimeout.String()
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
