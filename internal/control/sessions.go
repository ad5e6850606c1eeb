package control

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/strictjson"
	"github.com/smd-media/smd/token/smde"
)

// Limits of a revocation request.
const (
	maxReason = 1024
	// maxTTL is ten years: longer is "until unrevoked" (ttl 0).
	maxTTL = 10 * 365 * 24 * time.Hour
)

// validSessionID: SMDE's syntax, 1-200 letters, digits or '_' (the one
// check of smd, smde.ValidSessionID).
func validSessionID(id string) bool { return smde.ValidSessionID(id) }

func pathSessionID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !validSessionID(id) {
		return "", badRequest(codeInvalidSession, "session_id", "session id %q is not 1-200 letters, digits or '_'", id)
	}
	return id, nil
}

// TTL is a duration in JSON: a string such as "90s", "2h", "7d", "1d12h",
// or a number of seconds.
type TTL time.Duration

// UnmarshalJSON reads a string duration or integer seconds.
func (t *TTL) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(b, []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		d, err := config.ParseDuration(s)
		if err != nil {
			return err
		}
		*t = TTL(d)
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n > int64(maxTTL/time.Second) || n < -int64(maxTTL/time.Second) {
		return fmt.Errorf("%s is not a whole number of seconds", b)
	}
	*t = TTL(time.Duration(n) * time.Second)
	return nil
}

// revokeRequest is the body of POST /v1/sessions/{id}/revoke.
type revokeRequest struct {
	// Reason is free text for operators.
	Reason string `json:"reason"`
	// TTL is how long the revocation lasts; absent or 0: until unrevoked.
	TTL *json.RawMessage `json:"ttl"`
}

// check validates the request's TTL and reason and returns the TTL; zero
// lasts forever, which the error names as forever (e.g. "until unrevoked").
func (req *revokeRequest) check(forever string) (time.Duration, error) {
	var ttl TTL
	if req.TTL != nil {
		if err := ttl.UnmarshalJSON(*req.TTL); err != nil {
			return 0, badRequest(codeInvalidField, "ttl", `ttl: want a duration such as "90s", "2h" or "7d", or seconds`)
		}
	}
	if ttl < 0 || time.Duration(ttl) > maxTTL {
		return 0, badRequest(codeInvalidField, "ttl", "ttl: must be from 0 (%s) to %s", forever, maxTTL)
	}
	if problem := strictjson.TextProblem(req.Reason, maxReason); problem != "" {
		return 0, badRequest(codeInvalidField, "reason", "reason: %s (free text: valid UTF-8 of at most %d bytes, no control characters)", problem, maxReason)
	}
	return time.Duration(ttl), nil
}

// expiresAt is when an entry written at now with ttl expires (zero: never),
// as the store counts it: it rounds TTLs up to whole seconds.
func expiresAt(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add((ttl + time.Second - 1).Truncate(time.Second))
}

// revokeResponse is a revocation with the bucket revision of the write.
type revokeResponse struct {
	Revocation
	Revision uint64 `json:"revision"`
}

func (a *API) revoke(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathSessionID(r)
	if err != nil {
		return err
	}
	var req revokeRequest
	if err := a.decodeJSON(r, &req, true); err != nil {
		return err
	}
	ttl, err := req.check("until unrevoked")
	if err != nil {
		return err
	}
	now := a.now().UTC().Round(0).Truncate(time.Second)
	e := Revocation{SessionID: id, Type: "manual", Reason: req.Reason, By: c.by(), RevokedAt: now}
	rev, err := a.deps.Sessions.Revoke(r.Context(), e, ttl)
	if err != nil {
		return unavailable("the revocation store", err)
	}
	e.ExpiresAt = expiresAt(now, ttl)
	a.metrics.revocations.WithLabelValues("revoke").Inc()
	a.log.Info("control: session revoked", "session_id", id, "by", e.By, "ttl", ttl)
	writeJSON(w, http.StatusOK, revokeResponse{Revocation: e, Revision: rev})
	return nil
}

func (a *API) unrevoke(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathSessionID(r)
	if err != nil {
		return err
	}
	// Lifting an automatic revocation holds the detector off first, so
	// that it cannot write the revocation again in between from the same
	// evidence.
	if a.deps.Allowlist != nil {
		e, ok, err := a.deps.Sessions.Get(r.Context(), id)
		if err != nil {
			return unavailable("the revocation store", err)
		}
		if ok && e.Type == "auto" {
			if _, err := a.deps.Allowlist.HoldOff(r.Context(), id, c.by(), a.cfg.UnrevokeHoldOff); err != nil {
				return unavailable("the allowlist", err)
			}
		}
	}
	ok, err := a.deps.Sessions.Unrevoke(r.Context(), id)
	if err != nil {
		return unavailable("the revocation store", err)
	}
	if !ok {
		return &Error{Status: http.StatusNotFound, Code: codeNotRevoked, Message: fmt.Sprintf("session %q is not revoked", id)}
	}
	a.metrics.revocations.WithLabelValues("unrevoke").Inc()
	a.log.Info("control: session unrevoked", "session_id", id, "by", c.by())
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) getRevocation(w http.ResponseWriter, r *http.Request, _ *call) error {
	id, err := pathSessionID(r)
	if err != nil {
		return err
	}
	e, ok, err := a.deps.Sessions.Get(r.Context(), id)
	if err != nil {
		return unavailable("the revocation store", err)
	}
	if !ok {
		return &Error{Status: http.StatusNotFound, Code: codeNotRevoked, Message: fmt.Sprintf("session %q is not revoked", id)}
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (a *API) listRevoked(w http.ResponseWriter, r *http.Request, _ *call) error {
	after, limit, err := a.page(r, validSessionID)
	if err != nil {
		return err
	}
	prefix := ""
	if v, ok := r.URL.Query()["prefix"]; ok {
		if len(v) != 1 || (v[0] != "" && !validSessionID(v[0])) {
			return badRequest(codeInvalidField, "prefix", "prefix: want one start of a session id (letters, digits or '_')")
		}
		prefix = v[0]
	}
	if a.deps.RevokedIndex != nil {
		ids, next, total, ok := a.deps.RevokedIndex.Page(after, prefix, limit)
		if ok {
			items := make([]Revocation, 0, len(ids))
			for _, id := range ids {
				e, found, err := a.deps.Sessions.Get(r.Context(), id)
				if err != nil {
					return unavailable("the revocation store", err)
				}
				if found { // else unrevoked or expired since the index was built
					items = append(items, e)
				}
			}
			writeJSON(w, http.StatusOK, revokedList{Items: items, Next: next, Total: &total})
			return nil
		}
	}
	if prefix != "" {
		return unavailable("the search of revoked sessions", errors.New("no revoked index (yet)"))
	}
	items, next, err := a.deps.Sessions.List(r.Context(), after, limit)
	if err != nil {
		return unavailable("the revocation store", err)
	}
	if items == nil {
		items = []Revocation{}
	}
	writeJSON(w, http.StatusOK, revokedList{Items: items, Next: next})
	return nil
}

// RevokedIndex is a sorted index of the revoked session ids
// (revocation.Index).
type RevokedIndex interface {
	// Page returns up to limit ids starting with prefix and sorting after
	// after, the next cursor, and how many ids start with prefix; false
	// while the index is not loaded.
	Page(after, prefix string, limit int) (ids []string, next string, total int, ok bool)
}

// revokedList is the answer of GET /v1/sessions/revoked.
type revokedList struct {
	Items []Revocation `json:"items"`
	// Next is the cursor of the next page (?after=), "" on the last.
	Next string `json:"next"`
	// Total is how many revoked sessions match (the prefix), when the
	// control plane's index answered.
	Total *int `json:"total,omitempty"`
}
