// Package timeline builds one playback session's timeline from its access
// events: requests and bytes over time, every verdict, the viewers
// (address and user agent) with their countries and networks, and the
// latest requests. The dashboard's session page and
// GET /v1/sessions/{id}/timeline show it.
//
// It holds no I/O: the caller reads the events (the access stream) and
// adds them. It imports only accesslog.
package timeline

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
)

// Limits of a timeline.
const (
	// MaxBuckets bounds the buckets: the bucket width grows with the span.
	MaxBuckets = 360
	// MaxViewers bounds the viewers listed; the rest are counted in
	// OtherViewers.
	MaxViewers = 64
	// MaxEvents is how many of the latest requests are listed.
	MaxEvents = 200
)

// Timeline is a session's activity from From to To.
type Timeline struct {
	SessionID string    `json:"session_id"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	// BucketSeconds is the width of each bucket.
	BucketSeconds int `json:"bucket_seconds"`
	// Requests and Bytes are the totals; Verdicts counts the requests by
	// verdict, refusals by their reason (see Key).
	Requests int            `json:"requests"`
	Bytes    int64          `json:"bytes"`
	Verdicts map[string]int `json:"verdicts"`
	// Buckets are the requests over time, one per BucketSeconds from
	// From, empty ones included.
	Buckets []Bucket `json:"buckets"`
	// Viewers are the addresses and user agents seen, most requests
	// first; OtherViewers counts those past MaxViewers.
	Viewers      []Viewer `json:"viewers"`
	OtherViewers int      `json:"other_viewers"`
	// Events are the latest requests, oldest first; Truncated says there
	// were more.
	Events    []Event `json:"events"`
	Truncated bool    `json:"truncated"`
	// Partial says the access stream was not read to To within the
	// reader's deadline: the counts stop earlier.
	Partial bool `json:"partial"`
}

// Bucket is the session's requests in one time slot.
type Bucket struct {
	Time     time.Time      `json:"time"`
	Requests int            `json:"requests"`
	Bytes    int64          `json:"bytes"`
	Verdicts map[string]int `json:"verdicts"`
	// Addresses is how many viewer addresses asked in the slot.
	Addresses int `json:"addresses"`
}

// Viewer is one address and user agent of the session.
type Viewer struct {
	IP        string         `json:"ip"`
	UserAgent string         `json:"user_agent"`
	Country   string         `json:"country,omitempty"`
	ASN       uint32         `json:"asn,omitempty"`
	First     time.Time      `json:"first"`
	Last      time.Time      `json:"last"`
	Requests  int            `json:"requests"`
	Bytes     int64          `json:"bytes"`
	Verdicts  map[string]int `json:"verdicts"`
}

// Event is one request of the session.
type Event struct {
	Time        time.Time `json:"time"`
	EdgeID      string    `json:"edge_id"`
	Verdict     string    `json:"verdict"`
	Reason      string    `json:"reason,omitempty"`
	Status      int       `json:"status"`
	IP          string    `json:"ip"`
	Country     string    `json:"country,omitempty"`
	UserAgent   string    `json:"user_agent,omitempty"`
	Path        string    `json:"path,omitempty"`
	Bytes       int64     `json:"bytes"`
	CacheStatus string    `json:"cache_status,omitempty"`
}

// Key is how a request counts in Verdicts: a refusal (deny, rejected) by
// its reason (expired, binding_mismatch, ...), anything else by its
// verdict (allow, revoked, log_deny, unchecked).
func Key(verdict, reason string) string {
	if (verdict == accesslog.VerdictDeny || verdict == accesslog.VerdictRejected) && reason != "" {
		return reason
	}
	return verdict
}

// Builder accumulates a session's events into a Timeline.
type Builder struct {
	t       Timeline
	width   time.Duration
	viewers map[[2]string]*Viewer
	addrs   []map[string]struct{}
	ring    []Event
	next    int
	seen    int
}

// NewBuilder starts the timeline of session id from from to to (at most
// MaxBuckets buckets of at least a second each).
func NewBuilder(id string, from, to time.Time) *Builder {
	span := max(to.Sub(from), time.Second)
	// Whole seconds, as few as keep the buckets within MaxBuckets.
	width := time.Duration(math.Ceil(span.Seconds()/MaxBuckets)) * time.Second
	n := int((span + width - 1) / width)
	b := &Builder{width: width, viewers: map[[2]string]*Viewer{}, addrs: make([]map[string]struct{}, n)}
	b.t = Timeline{SessionID: id, From: from.UTC(), To: to.UTC(), BucketSeconds: int(width / time.Second), Verdicts: map[string]int{},
		Buckets: make([]Bucket, n), Viewers: []Viewer{}, Events: []Event{}}
	for i := range b.t.Buckets {
		b.t.Buckets[i] = Bucket{Time: b.t.From.Add(time.Duration(i) * width), Verdicts: map[string]int{}}
	}
	return b
}

// Add counts an event of the session; events of other sessions and
// outside the span are ignored.
func (b *Builder) Add(e *accesslog.Event) {
	if e.SessionID != b.t.SessionID || e.Time.Before(b.t.From) || e.Time.After(b.t.To) {
		return
	}
	ip := e.IP()
	key := Key(e.Verdict, e.Reason)
	b.t.Requests++
	b.t.Bytes += e.BytesSent
	b.t.Verdicts[key]++
	if i := min(int(e.Time.Sub(b.t.From)/b.width), len(b.t.Buckets)-1); i >= 0 {
		bk := &b.t.Buckets[i]
		bk.Requests++
		bk.Bytes += e.BytesSent
		bk.Verdicts[key]++
		if b.addrs[i] == nil {
			b.addrs[i] = map[string]struct{}{}
		}
		if _, ok := b.addrs[i][ip]; !ok && len(b.addrs[i]) < 1024 {
			b.addrs[i][ip] = struct{}{}
			bk.Addresses = len(b.addrs[i])
		}
	}
	vk := [2]string{ip, e.UserAgent}
	v := b.viewers[vk]
	if v == nil {
		if len(b.viewers) >= 4*MaxViewers { // bound the memory; counted as other
			b.t.OtherViewers++
		} else {
			v = &Viewer{IP: ip, UserAgent: e.UserAgent, First: e.Time.UTC(), Verdicts: map[string]int{}}
			b.viewers[vk] = v
		}
	}
	if v != nil {
		v.Country, v.ASN = cmp.Or(e.Country, v.Country), cmp.Or(e.ASN, v.ASN)
		if e.Time.Before(v.First) {
			v.First = e.Time.UTC()
		}
		if e.Time.After(v.Last) {
			v.Last = e.Time.UTC()
		}
		v.Requests++
		v.Bytes += e.BytesSent
		v.Verdicts[key]++
	}
	ev := Event{Time: e.Time.UTC(), EdgeID: e.EdgeID, Verdict: e.Verdict, Reason: e.Reason, Status: e.Status, IP: ip,
		Country: e.Country, UserAgent: e.UserAgent, Path: e.OriginPath, Bytes: e.BytesSent, CacheStatus: e.CacheStatus}
	if len(b.ring) < MaxEvents {
		b.ring = append(b.ring, ev)
	} else {
		b.ring[b.next] = ev
		b.next = (b.next + 1) % MaxEvents
	}
	b.seen++
}

// Timeline returns the timeline of the events added.
func (b *Builder) Timeline() Timeline {
	t := b.t
	t.Events = append(append([]Event{}, b.ring[b.next:]...), b.ring[:b.next]...)
	slices.SortStableFunc(t.Events, func(x, y Event) int { return x.Time.Compare(y.Time) })
	t.Truncated = b.seen > len(t.Events)
	vs := make([]Viewer, 0, len(b.viewers))
	for _, v := range b.viewers {
		vs = append(vs, *v)
	}
	slices.SortFunc(vs, func(x, y Viewer) int {
		return cmp.Or(cmp.Compare(y.Requests, x.Requests), x.First.Compare(y.First), cmp.Compare(x.IP, y.IP), cmp.Compare(x.UserAgent, y.UserAgent))
	})
	if len(vs) > MaxViewers {
		t.OtherViewers += len(vs) - MaxViewers
		vs = vs[:MaxViewers]
	}
	t.Viewers = vs
	return t
}
