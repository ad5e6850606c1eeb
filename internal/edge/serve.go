package edge

import (
	"context"
	"errors"
	"net/url"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/cache"
	"github.com/smd-media/smd/token"
)

// serve answers a request that passed: from the cache or the origin, or
// through the next handler.
func (e *Edge) serve(x *exchange) error {
	if e.next != nil {
		return e.handOn(x)
	}
	u := x.route.origin + x.originPath
	x.cacheReq = cache.Request{Key: u, URL: u, Method: x.method, Header: x.r.Header}
	res := e.fetcher.Serve(x.r.Context(), x.w, &x.cacheReq)
	x.ev.CacheStatus = res.CacheStatus
	if errors.Is(res.Err, cache.ErrTruncated) {
		x.truncated = true
		x.ev.Reason = "origin_truncated"
	}
	if res.OriginDuration > 0 {
		e.metrics.origin.Observe(res.OriginDuration.Seconds())
	}
	return nil
}

// Passed is what the edge established about a request it let through: the
// next handler reads it with PassedFrom.
type Passed struct {
	// OriginPath is the request's path without the token, normalized
	// (escaped form).
	OriginPath string
	// SessionID is the token's session id ("" when none); SessionProven
	// says whether the signature covers it (token.Grant.SessionProven):
	// an unproven id identifies no one.
	SessionID     string
	SessionProven bool
	// KeyID names the key that verified the token ("" when unchecked).
	KeyID string
	// Verdict is the access event's: "allow", "log_deny" (a log-mode route
	// let a bad token through) or "unchecked" (an off route).
	Verdict string
}

type passedKey struct{}

// PassedFrom returns what the edge established about r, if the edge passed
// it on.
func PassedFrom(ctx context.Context) (Passed, bool) {
	p, ok := ctx.Value(passedKey{}).(*Passed)
	if !ok {
		return Passed{}, false
	}
	return *p, true
}

func (x *exchange) passed() *Passed {
	return &Passed{OriginPath: x.originPath, SessionID: x.sessionID, SessionProven: x.sessionProven, KeyID: x.ev.KeyID, Verdict: x.ev.Verdict}
}

// handOn gives the request to the next handler with the origin path (the
// token removed) and what the edge established in its context.
func (e *Edge) handOn(x *exchange) error {
	p, err := url.PathUnescape(x.originPath)
	if err != nil {
		return x.s.refuse(token.ReasonBadPath, accesslog.VerdictRejected)
	}
	r := x.r.WithContext(context.WithValue(x.r.Context(), passedKey{}, x.passed()))
	u := *x.r.URL
	u.Path, u.RawPath = p, ""
	if u.EscapedPath() != x.originPath {
		u.RawPath = x.originPath
	}
	r.URL = &u
	r.RequestURI = u.RequestURI()
	e.next.ServeHTTP(x.w, r)
	return nil
}
