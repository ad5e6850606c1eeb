package edge

import (
	"net/http"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// resolve finds the origin path (the path after the token segment, if the
// first segment looks like one) and its route.
func (e *Edge) resolve(x *exchange) error {
	if x.target == "" { // set by describe in auth mode
		x.target, x.query = x.r.URL.EscapedPath(), x.r.URL.RawQuery
	}
	p, hasToken, err := originPath(x.target)
	x.hasToken = hasToken
	if err != nil {
		return x.s.refuse(token.ReasonBadPath, accesslog.VerdictRejected)
	}
	x.originPath = p
	if x.route = x.s.routes.match(p); x.route == nil {
		return &reject{status: http.StatusNotFound, reason: "no_route", verdict: accesslog.VerdictRejected}
	}
	return nil
}

// Claims reports whether one of the routes claims the request's path (the
// path after a token segment, normalized). A path that does not normalize
// is claimed: the pipeline refuses it as bad_path.
func (e *Edge) Claims(r *http.Request) bool {
	p, _, err := originPath(r.URL.EscapedPath())
	return err != nil || e.cur.Load().routes.match(p) != nil
}

// originPath is the normalized path after the token segment of an
// escaped request path (the whole path when its first segment does not
// look like a token), and whether there was one.
func originPath(target string) (path string, hasToken bool, err error) {
	raw := target
	if seg, rest, _, err := smde.SplitTarget(target); err == nil && smde.LooksLikeToken(seg) {
		hasToken, raw = true, rest
	}
	path, err = token.NormalizePath(raw)
	return path, hasToken, err
}
