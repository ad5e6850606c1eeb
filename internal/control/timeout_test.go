package control_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/control/controltest"
)

// stuckSessions answers reads only when the request's context ends, as a
// NATS request sent to a stream leader that just went away.
type stuckSessions struct{ control.Sessions }

func (stuckSessions) Get(ctx context.Context, _ string) (control.Revocation, bool, error) {
	<-ctx.Done()
	return control.Revocation{}, false, ctx.Err()
}

// TestRequestTimeout: a request whose store never answers ends with 503
// unavailable after RequestTimeout, not a hung connection.
func TestRequestTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	e := controltest.Start(t, controltest.Options{
		Config: func(c *control.Config) { c.RequestTimeout = timeout },
		Deps:   func(d *control.Deps) { d.Sessions = stuckSessions{d.Sessions} },
	})
	req, _ := http.NewRequest("GET", e.URL+"/v1/sessions/s1/revoke", nil)
	req.Header.Set("Authorization", "Bearer "+e.Admin)
	start := time.Now()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("the request hung past its timeout: %v", err)
	}
	defer resp.Body.Close()
	took := time.Since(start)
	var body struct{ Error string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || body.Error != "unavailable" {
		t.Fatalf("got %d %q, want 503 unavailable", resp.StatusCode, body.Error)
	}
	if took < timeout {
		t.Fatalf("answered after %v, before the timeout: the store did not block", took)
	}
}
