// Package accesslog records one typed event per edge request and hands it
// to sinks off the response path: Log never blocks; when the buffer is full
// the event is dropped and counted. Events never carry a token, a key or a
// secret: only the session id and the key id.
package accesslog

import (
	"net/netip"
	"strconv"
	"time"
)

// Event is one request seen by an edge.
type Event struct {
	Time      time.Time `json:"time"`
	EdgeID    string    `json:"edge_id"`
	RequestID string    `json:"request_id"`
	SessionID string    `json:"session_id,omitempty"`
	// SessionUnproven is true when SessionID is only what the request
	// wrote in front of the token, not covered by its signature (an exc
	// path whose binding did not match, a geo fallback): anyone holding
	// a token can write any id there, so it is no identity. Detectors
	// must not count such events towards the session. Absent (false)
	// means proven, as in events of edges older than the field.
	SessionUnproven bool   `json:"session_unproven,omitempty"`
	KeyID           string `json:"kid,omitempty"`
	// Verdict is "allow", "deny", "revoked", "log_deny" (a log-mode route
	// served a request that enforcement would refuse), "unchecked" (route
	// mode off) or "rejected" (refused before the token check: method, path).
	Verdict  string `json:"verdict"`
	Reason   string `json:"reason,omitempty"`
	Status   int    `json:"status"`
	ViewerIP string `json:"viewer_ip"`
	Country  string `json:"country,omitempty"`
	// ASN is the viewer's autonomous system number (its network
	// operator), from the edge's ASN database or a trusted
	// CloudFront-Viewer-ASN header; 0 unknown.
	ASN        uint32 `json:"asn,omitempty"`
	UserAgent  string `json:"user_agent,omitempty"`
	Referer    string `json:"referer,omitempty"`
	Method     string `json:"method"`
	Route      string `json:"route,omitempty"`
	OriginPath string `json:"origin_path,omitempty"`
	BytesSent  int64  `json:"bytes_sent"`
	// MediaMS is the media duration of the segment served, in ms, as the
	// manifests the edge served say (HLS EXTINF, DASH SegmentTemplate);
	// 0 for manifests, init segments and segments of renditions whose
	// manifest the edge has not served.
	MediaMS     uint32        `json:"media_ms,omitempty"`
	Duration    time.Duration `json:"-"`
	DurationMS  float64       `json:"duration_ms"`
	CacheStatus string        `json:"cache_status,omitempty"`

	// RequestPrefix and RequestSeq are the request id in binary form, so
	// that an edge builds no string per request: when RequestID is empty
	// and RequestPrefix is not, the id is RequestPrefix followed by
	// RequestSeq in base 36. [AppendEvent] writes it that way; see
	// [Event.ID].
	RequestPrefix string `json:"-"`
	RequestSeq    uint64 `json:"-"`
	// Addr is the viewer's address in binary form: when ViewerIP is empty,
	// [AppendEvent] writes Addr (when valid) as viewer_ip; see [Event.IP].
	Addr netip.Addr `json:"-"`
}

// ID returns the request id: RequestID, or the one its binary form gives.
func (e *Event) ID() string {
	if e.RequestID != "" || e.RequestPrefix == "" {
		return e.RequestID
	}
	return e.RequestPrefix + strconv.FormatUint(e.RequestSeq, 36)
}

// IP returns the viewer's address: ViewerIP, or Addr's text form.
func (e *Event) IP() string {
	if e.ViewerIP != "" || !e.Addr.IsValid() {
		return e.ViewerIP
	}
	return e.Addr.String()
}

// Expand sets RequestID and ViewerIP from their binary forms, and clears
// those: the event as DecodeEvent would return it.
func (e *Event) Expand() {
	e.RequestID, e.ViewerIP = e.ID(), e.IP()
	e.RequestPrefix, e.RequestSeq, e.Addr = "", 0, netip.Addr{}
}

// Verdicts.
const (
	VerdictAllow     = "allow"
	VerdictDeny      = "deny"
	VerdictRevoked   = "revoked"
	VerdictLogDeny   = "log_deny"
	VerdictUnchecked = "unchecked"
	VerdictRejected  = "rejected"
)
