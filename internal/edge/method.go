package edge

import (
	"net/http"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/token"
)

func (e *Edge) checkMethod(x *exchange) error {
	switch x.method {
	case http.MethodGet, http.MethodHead:
		e.cors.annotate(x.w.Header(), x.r)
		return nil
	case http.MethodOptions:
		if e.cors.preflight(x.w, x.r) {
			x.ev.Verdict = accesslog.VerdictUnchecked
			return errHandled
		}
	}
	return &reject{status: http.StatusMethodNotAllowed, reason: string(token.ReasonMethodNotAllowed), verdict: accesslog.VerdictRejected}
}
