package control_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control"
)

// fakeDetector holds one live session and one stored decision.
type fakeDetector struct{ err error }

func (f fakeDetector) Inspect(_ context.Context, id string) (control.Inspection, bool, error) {
	if f.err != nil || id != "live1" {
		return control.Inspection{}, false, f.err
	}
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	return control.Inspection{SessionID: id, Time: at, LastRequest: at.Add(-time.Second), Scores: []control.ScoreReport{
		{Scorer: "concurrency", Role: "active", Score: 0.6, Threshold: 1, Features: map[string]float64{"places": 2},
			Explanation: []string{"presence 0.6: 2 places at the same time, in 1 country"}},
		{Scorer: "smde", Role: "shadow", Score: 3, Threshold: 2.2, Over: true, Features: map[string]float64{"ips": 2},
			Explanation: []string{"seen from 2 addresses: ip_penalty 1"}},
	}, Evidence: &control.Evidence{Addresses: []string{"192.0.2.1", "198.51.100.2"}, Countries: []string{"DE"}}}, true, nil
}

func (f fakeDetector) Decisions(_ context.Context, id string) ([]control.StoredDecision, error) {
	if f.err != nil {
		return nil, f.err
	}
	if id != "live1" {
		return nil, nil
	}
	return []control.StoredDecision{{Time: time.Date(2026, 12, 7, 11, 59, 0, 0, time.UTC), Scorer: "smde", SessionID: id, Score: 3,
		Threshold: 2.2, Features: map[string]float64{"ips": 2}, Explanation: []string{"smde score 3, over 2.2"}, Outcome: "shadow"}}, nil
}

// TestSessionDetector: GET /v1/sessions/{id}/detector answers the live
// view and the stored decisions (as openapi.json says), a session no
// detector holds with a null live view, 503 without a detector or when
// it fails, 400 for a bad id, 401 without a key.
func TestSessionDetector(t *testing.T) {
	for _, tc := range []struct {
		name   string
		det    control.Detector
		id     string
		status int
		check  func(t *testing.T, r response)
	}{
		{"live", fakeDetector{}, "live1", 200, func(t *testing.T, r response) {
			var sd control.SessionDetector
			r.decode(t, &sd)
			if sd.Live == nil || len(sd.Live.Scores) != 2 || !sd.Live.Scores[1].Over || len(sd.Decisions) != 1 || sd.Decisions[0].Outcome != "shadow" {
				t.Errorf("%s", r.body)
			}
		}},
		{"not held", fakeDetector{}, "gone1", 200, func(t *testing.T, r response) {
			var sd control.SessionDetector
			r.decode(t, &sd)
			if sd.Live != nil || sd.LiveNote == "" || sd.Decisions == nil || len(sd.Decisions) != 0 {
				t.Errorf("%s", r.body)
			}
		}},
		{"no detector", nil, "live1", 503, nil},
		{"failing", fakeDetector{err: errors.New("nats down")}, "live1", 503, nil},
		{"bad id", fakeDetector{}, "a-b", 400, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, func(d *control.Deps) { d.Detector = tc.det })
			r := e.do(t, "GET", "/v1/sessions/"+tc.id+"/detector", e.reader, "")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
			if r := e.do(t, "GET", "/v1/sessions/"+tc.id+"/detector", "", ""); r.status != http.StatusUnauthorized {
				t.Errorf("without a key: %d", r.status)
			}
		})
	}
}
