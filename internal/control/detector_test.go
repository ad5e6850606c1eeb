package control_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control"
)

// fakeDetector holds one live session and one stored decision. With
// silent, Inspect of another session waits for its context to end, as
// real detectors that do not hold it do (none answers).
type fakeDetector struct {
	err    error
	silent bool
}

func (f fakeDetector) Inspect(ctx context.Context, id string) (control.Inspection, bool, error) {
	if f.silent && id != "live1" {
		<-ctx.Done()
		return control.Inspection{}, false, ctx.Err()
	}
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

func (f fakeDetector) Decisions(ctx context.Context, id string) ([]control.StoredDecision, error) {
	if f.err != nil {
		return nil, f.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if id != "live1" {
		return nil, nil
	}
	return []control.StoredDecision{{Time: time.Date(2026, 12, 7, 11, 59, 0, 0, time.UTC), Scorer: "smde", SessionID: id, Score: 3,
		Threshold: 2.2, Features: map[string]float64{"ips": 2}, Explanation: []string{"smde score 3, over 2.2"}, Outcome: "shadow"}}, nil
}

func (f fakeDetector) Top(ctx context.Context, n int) ([]control.Inspection, bool, error) {
	if f.err != nil {
		return nil, false, f.err
	}
	in, _, _ := f.Inspect(ctx, "live1")
	low := in
	low.SessionID, low.Scores = "live2", []control.ScoreReport{{Scorer: "concurrency", Role: "active", Score: 0.1, Threshold: 1,
		Features: map[string]float64{}, Explanation: []string{}}}
	return []control.Inspection{in, low}[:min(n, 2)], true, nil
}

// TestTopSessions: GET /v1/sessions/top answers the detectors' top
// sessions as openapi.json says, at most limit of them; a bad limit is
// 400; no detector or a failing one 503; read scope needed.
func TestTopSessions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		det    control.Detector
		query  string
		status int
		items  int
	}{
		{"default", fakeDetector{}, "", 200, 2},
		{"limit 1", fakeDetector{}, "?limit=1", 200, 1},
		{"limit 0", fakeDetector{}, "?limit=0", 400, 0},
		{"limit 101", fakeDetector{}, "?limit=101", 400, 0},
		{"two limits", fakeDetector{}, "?limit=1&limit=2", 400, 0},
		{"not a number", fakeDetector{}, "?limit=x", 400, 0},
		{"no detector", nil, "", 503, 0},
		{"failing", fakeDetector{err: errors.New("nats down")}, "", 503, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, func(d *control.Deps) { d.Detector = tc.det })
			expect(t, e.do(t, "POST", "/v1/sessions/live1/revoke", e.admin, `{"reason":"caught"}`), 200, "")
			r := e.do(t, "GET", "/v1/sessions/top"+tc.query, e.reader, "")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 200 {
				var top control.TopSessions
				r.decode(t, &top)
				if len(top.Items) != tc.items || top.Items[0].SessionID != "live1" || top.Items[0].Revocation == nil ||
					top.Items[0].Revocation.Reason != "caught" || (tc.items > 1 && top.Items[1].Revocation != nil) {
					t.Errorf("items: %s", r.body)
				}
			}
			if r := e.do(t, "GET", "/v1/sessions/top", "", ""); r.status != http.StatusUnauthorized {
				t.Errorf("without a key: %d", r.status)
			}
		})
	}
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
			if sd.Live == nil || len(sd.Live.Scores) != 2 || !sd.Live.Scores[1].Over || len(sd.Decisions) != 1 || sd.Decisions[0].Outcome != "shadow" ||
				sd.Revocation == nil || sd.Revocation.Reason != "seen twice" {
				t.Errorf("%s", r.body)
			}
		}},
		{"not held", fakeDetector{}, "gone1", 200, func(t *testing.T, r response) {
			var sd control.SessionDetector
			r.decode(t, &sd)
			if sd.Live != nil || sd.LiveNote == "" || sd.Decisions == nil || len(sd.Decisions) != 0 || sd.Revocation != nil {
				t.Errorf("%s", r.body)
			}
		}},
		{"no detector answers in time", fakeDetector{silent: true}, "gone2", 200, func(t *testing.T, r response) {
			var sd control.SessionDetector
			r.decode(t, &sd)
			if sd.Live != nil || sd.LiveNote == "" || sd.Decisions == nil {
				t.Errorf("%s", r.body)
			}
		}},
		{"no detector", nil, "live1", 503, nil},
		{"failing", fakeDetector{err: errors.New("nats down")}, "live1", 503, nil},
		{"bad id", fakeDetector{}, "a-b", 400, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, func(d *control.Deps) { d.Detector = tc.det })
			expect(t, e.do(t, "POST", "/v1/sessions/live1/revoke", e.admin, `{"reason":"seen twice"}`), 200, "")
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

// TestWhoAmI: GET /v1/whoami names the calling key and its scopes, for
// a key of any scope; 401 without a key or with a wrong one.
func TestWhoAmI(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name, key, scope string
	}{{"admin", e.admin, "admin"}, {"issuer", e.issuer, "issuer"}, {"reader", e.reader, "read"}} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, "GET", "/v1/whoami", tc.key, "")
			expect(t, r, 200, "")
			var who control.WhoAmI
			r.decode(t, &who)
			if who.KeyID == "" || len(who.Scopes) != 1 || who.Scopes[0] != tc.scope {
				t.Errorf("%s", r.body)
			}
		})
	}
	expect(t, e.do(t, "GET", "/v1/whoami", "", ""), 401, "api_key_missing")
	expect(t, e.do(t, "GET", "/v1/whoami", "smd_nobody_"+strings.Repeat("a", 43), ""), 401, "api_key_invalid")
}
