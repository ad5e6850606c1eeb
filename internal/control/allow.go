package control

import (
	"fmt"
	"net/http"
	"time"
)

// The allowlist: sessions the detector never revokes (an operator may
// still revoke them by hand).

// allowRequest is the body of PUT /v1/sessions/{id}/allow.
type allowRequest = revokeRequest

// allowResponse is an allowance with the bucket revision of the write.
type allowResponse struct {
	Allowance
	Revision uint64 `json:"revision"`
}

// allowlist returns the allowlist, or 503 without one.
func (a *API) allowlist() (Allowlist, error) {
	if a.deps.Allowlist == nil {
		return nil, unavailable("the allowlist", fmt.Errorf("no allowlist configured"))
	}
	return a.deps.Allowlist, nil
}

func (a *API) allow(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathSessionID(r)
	if err != nil {
		return err
	}
	var req allowRequest
	if err := a.decodeJSON(r, &req, true); err != nil {
		return err
	}
	ttl, err := req.check("until removed")
	if err != nil {
		return err
	}
	al, err := a.allowlist()
	if err != nil {
		return err
	}
	now := a.now().UTC().Round(0).Truncate(time.Second)
	e := Allowance{SessionID: id, Kind: "allow", Reason: req.Reason, By: c.by(), AllowedAt: now}
	rev, err := al.Allow(r.Context(), e, ttl)
	if err != nil {
		return unavailable("the allowlist", err)
	}
	e.ExpiresAt = expiresAt(now, ttl)
	a.metrics.revocations.WithLabelValues("allow").Inc()
	a.log.Info("control: session allowlisted", "session_id", id, "by", e.By, "ttl", ttl)
	writeJSON(w, http.StatusOK, allowResponse{Allowance: e, Revision: rev})
	return nil
}

func (a *API) disallow(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathSessionID(r)
	if err != nil {
		return err
	}
	al, err := a.allowlist()
	if err != nil {
		return err
	}
	ok, err := al.Disallow(r.Context(), id)
	if err != nil {
		return unavailable("the allowlist", err)
	}
	if !ok {
		return &Error{Status: http.StatusNotFound, Code: codeNotAllowed, Message: fmt.Sprintf("session %q is not allowlisted", id)}
	}
	a.metrics.revocations.WithLabelValues("disallow").Inc()
	a.log.Info("control: session removed from the allowlist", "session_id", id, "by", c.by())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) getAllowance(w http.ResponseWriter, r *http.Request, _ *call) error {
	id, err := pathSessionID(r)
	if err != nil {
		return err
	}
	al, err := a.allowlist()
	if err != nil {
		return err
	}
	e, ok, err := al.Get(r.Context(), id)
	if err != nil {
		return unavailable("the allowlist", err)
	}
	if !ok {
		return &Error{Status: http.StatusNotFound, Code: codeNotAllowed, Message: fmt.Sprintf("session %q is not allowlisted", id)}
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (a *API) listAllowed(w http.ResponseWriter, r *http.Request, _ *call) error {
	after, limit, err := a.page(r, validSessionID)
	if err != nil {
		return err
	}
	al, err := a.allowlist()
	if err != nil {
		return err
	}
	items, next, err := al.List(r.Context(), after, limit)
	if err != nil {
		return unavailable("the allowlist", err)
	}
	if items == nil {
		items = []Allowance{}
	}
	writeJSON(w, http.StatusOK, list[Allowance]{Items: items, Next: next})
	return nil
}
