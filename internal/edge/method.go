package edge

import (
	"net/http"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/token"
)

func (e *Edge) checkMethod(x *exchange) error {
	switch x.method {
	case http.MethodGet, http.MethodHead:
		x.s.cors.annotate(x.w.Header(), x.r)
		return nil
	case http.MethodOptions:
		if x.s.cors.preflight(x.w, x.r) {
			x.ev.Verdict = accesslog.VerdictUnchecked
			return errHandled
		}
	}
	return &reject{status: http.StatusMethodNotAllowed, reason: string(token.ReasonMethodNotAllowed), verdict: accesslog.VerdictRejected}
}
