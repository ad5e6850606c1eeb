// Package accesslog records one typed event per edge request and hands it
// to sinks off the response path: Log never blocks; when the buffer is full
// the event is dropped and counted. Events never carry a token, a key or a
// secret: only the session id and the key id.
package accesslog

import "time"

// Event is one request seen by an edge.
type Event struct {
	Time      time.Time `json:"time"`
	EdgeID    string    `json:"edge_id"`
	RequestID string    `json:"request_id"`
	SessionID string    `json:"session_id,omitempty"`
	KeyID     string    `json:"kid,omitempty"`
	// Verdict is "allow", "deny", "revoked", "log_deny" (a log-mode route
	// served a request that enforcement would refuse), "unchecked" (route
	// mode off) or "rejected" (refused before the token check: method, path).
	Verdict     string        `json:"verdict"`
	Reason      string        `json:"reason,omitempty"`
	Status      int           `json:"status"`
	ViewerIP    string        `json:"viewer_ip"`
	Country     string        `json:"country,omitempty"`
	UserAgent   string        `json:"user_agent,omitempty"`
	Referer     string        `json:"referer,omitempty"`
	Method      string        `json:"method"`
	Route       string        `json:"route,omitempty"`
	OriginPath  string        `json:"origin_path,omitempty"`
	BytesSent   int64         `json:"bytes_sent"`
	Duration    time.Duration `json:"-"`
	DurationMS  float64       `json:"duration_ms"`
	CacheStatus string        `json:"cache_status,omitempty"`
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
