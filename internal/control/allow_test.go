package control_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control"
)

func TestAllowlist(t *testing.T) {
	e := newEnv(t, nil)
	a := e.admin
	r := e.do(t, "PUT", "/v1/sessions/vip1/allow", a, `{"reason":"test rig","ttl":"2h"}`)
	expect(t, r, 200, "")
	var got struct {
		control.Allowance
		Revision uint64
	}
	r.decode(t, &got)
	now := e.clock.Now()
	if got.SessionID != "vip1" || got.Kind != "allow" || got.Reason != "test rig" || got.By != "apikey:admin" ||
		!got.AllowedAt.Equal(now) || !got.ExpiresAt.Equal(now.Add(2*time.Hour)) || got.Revision == 0 {
		t.Errorf("allow = %s", r.body)
	}
	expect(t, e.do(t, "PUT", "/v1/sessions/vip2/allow", a, ""), 200, "")
	if al, ok, _ := e.Allowed.Get(context.Background(), "vip2"); !ok || !al.ExpiresAt.IsZero() {
		t.Errorf("no body: until removed, got %+v", al)
	}
	r = e.do(t, "GET", "/v1/sessions/vip1/allow", e.reader, "")
	expect(t, r, 200, "")
	var page struct {
		Items []control.Allowance
		Next  string
	}
	e.do(t, "GET", "/v1/sessions/allowed?limit=1", e.reader, "").decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].SessionID != "vip1" || page.Next != "vip1" {
		t.Errorf("page 1: %+v", page)
	}
	e.do(t, "GET", "/v1/sessions/allowed?after=vip1", e.reader, "").decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].SessionID != "vip2" || page.Next != "" {
		t.Errorf("page 2: %+v", page)
	}
	expect(t, e.do(t, "DELETE", "/v1/sessions/vip1/allow", a, ""), 204, "")
	expect(t, e.do(t, "DELETE", "/v1/sessions/vip1/allow", a, ""), 404, "session_not_allowed")
	expect(t, e.do(t, "GET", "/v1/sessions/vip1/allow", e.reader, ""), 404, "session_not_allowed")

	for _, tc := range []struct {
		name, method, path, tok, body string
		status                        int
		code, field                   string
	}{
		{"reader cannot allow", "PUT", "/v1/sessions/s1/allow", e.reader, "", 403, "scope_missing", ""},
		{"issuer cannot read", "GET", "/v1/sessions/allowed", e.issuer, "", 403, "scope_missing", ""},
		{"bad id", "PUT", "/v1/sessions/a-b/allow", a, "", 400, "invalid_session_id", "session_id"},
		{"bad ttl", "PUT", "/v1/sessions/s1/allow", a, `{"ttl":"soon"}`, 400, "invalid_field", "ttl"},
		{"ttl too long", "PUT", "/v1/sessions/s1/allow", a, `{"ttl":"4000d"}`, 400, "invalid_field", "ttl"},
		{"reason too long", "PUT", "/v1/sessions/s1/allow", a, `{"reason":"` + strings.Repeat("x", 1025) + `"}`, 400, "invalid_field", "reason"},
		{"unknown field", "PUT", "/v1/sessions/s1/allow", a, `{"kind":"hold_off"}`, 400, "invalid_field", "kind"},
		{"bad cursor", "GET", "/v1/sessions/allowed?after=a.b", a, "", 400, "invalid_field", "after"},
		{"POST is not allowed", "POST", "/v1/sessions/s1/allow", a, "", 405, "method_not_allowed", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, tc.method, tc.path, tc.tok, tc.body)
			expect(t, r, tc.status, tc.code)
			if r.field() != tc.field {
				t.Errorf("field %q, want %q (%s)", r.field(), tc.field, r.body)
			}
		})
	}

	e.Allowed.SetFail(errors.New("nats: secret detail"))
	r = e.do(t, "PUT", "/v1/sessions/s9/allow", a, "")
	expect(t, r, 503, "unavailable")
	if strings.Contains(string(r.body), "secret detail") {
		t.Errorf("cause leaked: %s", r.body)
	}
}

// TestUnrevokeHoldsOffTheDetector: lifting an automatic revocation
// writes a hold-off for UnrevokeHoldOff; lifting a manual one does not.
func TestUnrevokeHoldsOffTheDetector(t *testing.T) {
	e := newEnv(t, func(c *control.Config) { c.UnrevokeHoldOff = 15 * time.Minute })
	ctx := context.Background()
	at := e.clock.Now()
	auto := control.Revocation{SessionID: "auto1", Type: "auto", Reason: "concurrency score 2 over 1", Score: 2, By: "detector",
		RevokedAt: at, Features: map[string]float64{"places": 3, "place_countries": 3}}
	if _, err := e.sessions.Revoke(ctx, auto, time.Hour); err != nil {
		t.Fatal(err)
	}
	// The breakdown is visible.
	var rv control.Revocation
	e.do(t, "GET", "/v1/sessions/auto1/revoke", e.reader, "").decode(t, &rv)
	if rv.Type != "auto" || rv.Features["places"] != 3 {
		t.Errorf("revocation %+v", rv)
	}
	expect(t, e.do(t, "POST", "/v1/sessions/manual1/revoke", e.admin, ""), 200, "")

	expect(t, e.do(t, "DELETE", "/v1/sessions/auto1/revoke", e.admin, ""), 204, "")
	expect(t, e.do(t, "DELETE", "/v1/sessions/manual1/revoke", e.admin, ""), 204, "")
	var al control.Allowance
	e.do(t, "GET", "/v1/sessions/auto1/allow", e.reader, "").decode(t, &al)
	if al.Kind != "hold_off" || al.By != "apikey:admin" || al.ExpiresAt.Sub(al.AllowedAt) != 15*time.Minute {
		t.Errorf("hold-off %+v", al)
	}
	expect(t, e.do(t, "GET", "/v1/sessions/manual1/allow", e.reader, ""), 404, "session_not_allowed")

	// A failing allowlist keeps the revocation: nothing half done.
	if _, err := e.sessions.Revoke(ctx, control.Revocation{SessionID: "auto2", Type: "auto", RevokedAt: at}, 0); err != nil {
		t.Fatal(err)
	}
	e.Allowed.SetFail(errors.New("nats: down"))
	expect(t, e.do(t, "DELETE", "/v1/sessions/auto2/revoke", e.admin, ""), 503, "unavailable")
	if _, ok, _ := e.sessions.Get(ctx, "auto2"); !ok {
		t.Error("unrevoked without its hold-off")
	}
}
