package control

import (
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"
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
	var ttl TTL
	if req.TTL != nil {
		if err := ttl.UnmarshalJSON(*req.TTL); err != nil {
			return badRequest(codeInvalidField, "ttl", `ttl: want a duration such as "90s", "2h" or "7d", or seconds`)
		}
	}
	if ttl < 0 || time.Duration(ttl) > maxTTL {
		return badRequest(codeInvalidField, "ttl", "ttl: must be from 0 (until removed) to %s", maxTTL)
	}
	if len(req.Reason) > maxReason || !utf8.ValidString(req.Reason) {
		return badRequest(codeInvalidField, "reason", "reason: must be valid UTF-8 of at most %d bytes", maxReason)
	}
	al, err := a.allowlist()
	if err != nil {
		return err
	}
	now := a.now().UTC().Round(0).Truncate(time.Second)
	e := Allowance{SessionID: id, Kind: "allow", Reason: req.Reason, By: c.by(), AllowedAt: now}
	rev, err := al.Allow(r.Context(), e, time.Duration(ttl))
	if err != nil {
		return unavailable("the allowlist", err)
	}
	if ttl > 0 {
		// The store rounds TTLs up to whole seconds.
		e.ExpiresAt = now.Add((time.Duration(ttl) + time.Second - 1).Truncate(time.Second))
	}
	a.metrics.revocations.WithLabelValues("allow").Inc()
	a.log.Info("control: session allowlisted", "session_id", id, "by", e.By, "ttl", time.Duration(ttl))
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
