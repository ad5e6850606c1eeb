package edge

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/smd-media/smd/internal/accesslog"
)

// finish records the access event and metrics, and turns a panic into a
// 500 so one bad request cannot take the edge down.
func (e *Edge) finish(x *exchange) {
	if p := recover(); p != nil {
		if p == http.ErrAbortHandler {
			panic(p)
		}
		e.log.Error("panic serving request", "panic", fmt.Sprint(p), "path_len", len(x.r.URL.Path))
		if x.w.status == 0 {
			x.w.Header().Set("Cache-Control", "no-store")
			x.w.WriteHeader(http.StatusInternalServerError)
		}
		x.ev.Verdict, x.ev.Reason = accesslog.VerdictRejected, "internal"
	}
	d := e.now().Sub(x.start)
	n := e.reqID.Add(1)
	if x.w.status >= 400 && x.ev.Reason != "" {
		e.rejected.Add(1) // refused by the edge, not an origin error
	}
	status := x.w.status
	if status == 0 {
		status = http.StatusOK
	}
	routeName := "none"
	if x.route != nil {
		routeName = x.route.prefix
	}
	e.metrics.requests.WithLabelValues(routeName, statusText(status), x.ev.Verdict, x.ev.Reason).Inc()
	e.metrics.duration.Observe(d.Seconds())
	e.metrics.requestBytes.Add(float64(x.w.bytes))
	if e.access == nil {
		return
	}
	ev := &x.ev
	ev.Time, ev.EdgeID, ev.Duration = x.start, x.s.id, d
	// The request id and the address in binary form: the sinks format
	// them (the stream's encoder without allocating).
	ev.RequestPrefix, ev.RequestSeq = e.idBase, n
	ev.SessionID = x.sessionID
	ev.SessionUnproven = x.sessionID != "" && !x.sessionProven
	ev.Status, ev.BytesSent = status, x.w.bytes
	ev.Addr = x.ip
	ev.Country = x.geo.Country
	if x.s.viewers.KnowsASN() {
		ev.ASN = x.s.viewers.ASN(x.r, x.ip)
	}
	ev.UserAgent = x.r.Header.Get("User-Agent")
	ev.Referer = x.r.Header.Get("Referer")
	ev.Method = x.method
	ev.Route = routeName
	ev.OriginPath = x.originPath
	if status == http.StatusOK || status == http.StatusPartialContent {
		ev.MediaMS, _ = e.durations.Lookup(x.originPath)
	}
	e.access.Log(ev)
}

// statusText is strconv.Itoa without an allocation for the usual statuses.
func statusText(code int) string {
	switch code {
	case http.StatusOK:
		return "200"
	case http.StatusPartialContent:
		return "206"
	case http.StatusNotModified:
		return "304"
	case http.StatusUnauthorized:
		return "401"
	case http.StatusForbidden:
		return "403"
	case http.StatusNotFound:
		return "404"
	}
	return strconv.Itoa(code)
}
