package edge

import (
	"net/http"

	"github.com/smd-media/smd/internal/accesslog"
)

// checkRevoked refuses a revoked session. An unproven session id (an exc
// path whose binding did not match) is checked too, but it can only refuse:
// whoever wrote it chose it. What keeps a revoked viewer out of exc paths
// is the token's own session, which the verifier gives as the grant's
// (proven) session once the token has proven it, whatever id the request
// wrote (docs/tokens.md, "What a token binds on exc paths").
func (e *Edge) checkRevoked(x *exchange) error {
	if e.revoked == nil {
		return nil
	}
	revoked := x.sessionID != "" && e.revoked.Revoked(x.sessionID)
	if !revoked && x.excluded && !x.sessionProven && x.hasToken {
		revoked = e.revokedByProof(x)
	}
	if !revoked {
		return nil
	}
	if x.route.mode == ModeLog {
		x.ev.Verdict, x.ev.Reason = accesslog.VerdictLogDeny, "revoked"
		return nil
	}
	return &reject{status: x.s.statusFor("revoked", http.StatusForbidden), reason: "revoked", verdict: accesslog.VerdictRevoked}
}
