package node

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/detect"
	"github.com/smd-media/smd/internal/revocation"
)

// inspectSubject is where the control planes' detectors answer what they
// hold about a session: the request's body is the session id; the
// detector that holds the session replies with its detect.Inspection as
// JSON, the others stay silent.
const inspectSubject = "smd.detect.inspect"

// topSubject is where every detector answers with its sessions of the
// highest active scores: the request's body is how many (decimal, at
// most detect.MaxTop); each detector replies with a JSON array of
// detect.Inspection.
const topSubject = "smd.detect.top"

// decisionKey is a decision's key in smd_decisions.
func decisionKey(id, scorer string) string { return id + "." + scorer }

// decisionStore keeps the detector's decisions in smd_decisions.
type decisionStore struct{ kv jetstream.KeyValue }

func (s decisionStore) Put(ctx context.Context, d detect.Decision) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = s.kv.Put(ctx, decisionKey(d.SessionID, d.Scorer), b)
	return err
}

// answerInspections subscribes d to inspectSubject until ctx ends.
func answerInspections(ctx context.Context, nc *nats.Conn, d *detect.Detector, log *slog.Logger) error {
	sub, err := nc.Subscribe(inspectSubject, func(m *nats.Msg) {
		id := string(m.Data)
		if !revocation.ValidSessionID(id) {
			return
		}
		in, ok := d.Inspect(id, time.Now())
		if !ok {
			return
		}
		b, err := json.Marshal(in)
		if err == nil {
			err = m.Respond(b)
		}
		if err != nil {
			log.Warn("detector: cannot answer an inspection", "session_id", id, "err", err)
		}
	})
	if err != nil {
		return err
	}
	topSub, err := nc.Subscribe(topSubject, func(m *nats.Msg) {
		n, err := strconv.Atoi(string(m.Data))
		if err != nil || n < 1 || n > detect.MaxTop {
			return
		}
		b, err := json.Marshal(d.Top(n, time.Now()))
		if err == nil {
			err = m.Respond(b)
		}
		if err != nil {
			log.Warn("detector: cannot answer a top request", "err", err)
		}
	})
	if err != nil {
		sub.Unsubscribe()
		return err
	}
	<-ctx.Done()
	return errors.Join(sub.Unsubscribe(), topSub.Unsubscribe())
}

// sessionDetector serves the API's /v1/sessions/{id}/detector from the
// detectors (over NATS) and smd_decisions.
type sessionDetector struct {
	nc *nats.Conn
	kv jetstream.KeyValue
}

func (s sessionDetector) Inspect(ctx context.Context, id string) (control.Inspection, bool, error) {
	m, err := s.nc.RequestWithContext(ctx, inspectSubject, []byte(id))
	switch {
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return control.Inspection{}, false, nil
	case err != nil:
		return control.Inspection{}, false, err
	}
	var in control.Inspection
	if err := json.Unmarshal(m.Data, &in); err != nil {
		return control.Inspection{}, false, err
	}
	return in, true, nil
}

// topLinger is how long Top waits for more detectors after the first
// answer: every control plane's detector answers at once.
const topLinger = 150 * time.Millisecond

// Top gathers the top sessions of every detector that answers (the first
// within ctx, the others within topLinger of it) and returns the n
// highest.
func (s sessionDetector) Top(ctx context.Context, n int) ([]control.Inspection, bool, error) {
	inbox := s.nc.NewRespInbox()
	sub, err := s.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, false, err
	}
	defer sub.Unsubscribe()
	if err := s.nc.PublishRequest(topSubject, inbox, []byte(strconv.Itoa(n))); err != nil {
		return nil, false, err
	}
	var all []control.Inspection
	answered := false
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			break // ctx ended: the answers so far
		}
		var part []control.Inspection
		if err := json.Unmarshal(m.Data, &part); err != nil {
			return nil, false, err
		}
		all = append(all, part...)
		if !answered {
			answered = true
			lctx, cancel := context.WithTimeout(ctx, topLinger)
			defer cancel()
			ctx = lctx
		}
	}
	slices.SortStableFunc(all, func(a, b control.Inspection) int { return cmp.Compare(topScore(b), topScore(a)) })
	return all[:min(n, len(all))], answered, nil
}

// topScore is an inspection's active score.
func topScore(in control.Inspection) float64 {
	if len(in.Scores) == 0 {
		return 0
	}
	return in.Scores[0].Score
}

func (s sessionDetector) Decisions(ctx context.Context, id string) ([]control.StoredDecision, error) {
	var out []control.StoredDecision
	for _, sc := range detect.Scorers {
		e, err := s.kv.Get(ctx, decisionKey(id, sc))
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			continue
		case err != nil:
			return nil, err
		}
		var d control.StoredDecision
		if err := json.Unmarshal(e.Value(), &d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}
