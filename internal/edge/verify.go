package edge

import (
	"time"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/token"
)

func (e *Edge) checkToken(x *exchange) error {
	mode := x.route.mode
	if mode == ModeOff {
		x.ev.Verdict = accesslog.VerdictUnchecked
		return nil
	}
	var err error
	if !x.hasToken {
		err = token.Reject(token.ReasonMissing, "no token in the path")
	} else {
		// In the exchange, which is on the heap anyway: a local would
		// escape through the Format interface and cost an allocation.
		req := &x.tokenReq
		*req = token.Request{
			Method: x.method,
			Target: x.target,
			Header: x.r.Header,
			IP:     x.ip,
			Geo:    x.geo,
			Now:    x.start,
		}
		if q := x.query; q != "" {
			req.Target += "?" + q
		}
		t0 := time.Now()
		var g token.Grant
		g, err = x.s.format.Verify(req, e.keys)
		e.metrics.verify.Observe(time.Since(t0).Seconds())
		if err == nil {
			x.sessionID, x.sessionProven, x.ev.KeyID = g.SessionID, g.SessionProven, g.KeyID
			x.excluded = g.Excluded
			x.originPath = g.OriginPath
			x.ev.Verdict = accesslog.VerdictAllow
			return nil
		}
	}
	reason := token.ReasonOf(err)
	if reason == "" {
		reason = token.ReasonMalformed
	}
	if mode == ModeLog {
		x.ev.Verdict, x.ev.Reason = accesslog.VerdictLogDeny, string(reason)
		return nil
	}
	return x.s.refuse(reason, accesslog.VerdictDeny)
}
