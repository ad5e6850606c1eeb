package timeline

import (
	"fmt"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/accesslog"
)

func ev(at time.Time, session, ip, ua, verdict, reason string, bytes int64) *accesslog.Event {
	return &accesslog.Event{Time: at, SessionID: session, ViewerIP: ip, UserAgent: ua, Verdict: verdict, Reason: reason,
		BytesSent: bytes, Status: 200, EdgeID: "e1", OriginPath: "/vod/m1/seg-1.m4s"}
}

// TestBuilder: buckets, verdicts by key, viewers and the latest events
// of one session; other sessions and events outside the span are left
// out.
func TestBuilder(t *testing.T) {
	from := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	to := from.Add(10 * time.Minute)
	b := NewBuilder("s1", from, to)
	b.Add(ev(from.Add(time.Second), "s1", "192.0.2.1", "P/1", accesslog.VerdictAllow, "", 1000))
	b.Add(ev(from.Add(2*time.Second), "s1", "192.0.2.1", "P/1", accesslog.VerdictAllow, "", 500))
	b.Add(ev(from.Add(65*time.Second), "s1", "198.51.100.2", "P/1", accesslog.VerdictDeny, "binding_mismatch", 0))
	b.Add(ev(from.Add(9*time.Minute), "s1", "203.0.113.3", "Q/2", accesslog.VerdictRevoked, "revoked", 0))
	b.Add(ev(from.Add(3*time.Second), "s2", "192.0.2.9", "P/1", accesslog.VerdictAllow, "", 9)) // another session
	b.Add(ev(from.Add(-time.Second), "s1", "192.0.2.1", "P/1", accesslog.VerdictAllow, "", 9))  // before
	b.Add(ev(to.Add(time.Second), "s1", "192.0.2.1", "P/1", accesslog.VerdictAllow, "", 9))     // after
	tl := b.Timeline()
	if tl.BucketSeconds != 2 || len(tl.Buckets) != 300 {
		t.Fatalf("buckets: %d of %ds", len(tl.Buckets), tl.BucketSeconds)
	}
	if tl.Requests != 4 || tl.Bytes != 1500 {
		t.Errorf("totals %d %d", tl.Requests, tl.Bytes)
	}
	if tl.Verdicts["allow"] != 2 || tl.Verdicts["binding_mismatch"] != 1 || tl.Verdicts["revoked"] != 1 || len(tl.Verdicts) != 3 {
		t.Errorf("verdicts %v", tl.Verdicts)
	}
	if bk := tl.Buckets[0]; bk.Requests != 1 || bk.Addresses != 1 || bk.Bytes != 1000 {
		t.Errorf("bucket 0 %+v", bk)
	}
	if bk := tl.Buckets[1]; bk.Requests != 1 || bk.Bytes != 500 {
		t.Errorf("bucket 1 %+v", bk)
	}
	if bk := tl.Buckets[32]; bk.Verdicts["binding_mismatch"] != 1 {
		t.Errorf("bucket 32 %+v", bk)
	}
	if len(tl.Viewers) != 3 || tl.Viewers[0].IP != "192.0.2.1" || tl.Viewers[0].Requests != 2 || tl.Viewers[2].UserAgent != "Q/2" {
		t.Errorf("viewers %+v", tl.Viewers)
	}
	if len(tl.Events) != 4 || tl.Events[3].Verdict != "revoked" || tl.Truncated || tl.Events[0].Path == "" {
		t.Errorf("events %+v", tl.Events)
	}
}

// TestBuilderBounds: at most MaxEvents events (the latest, in order),
// MaxViewers viewers (the others counted), MaxBuckets buckets for a long
// span.
func TestBuilderBounds(t *testing.T) {
	from := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	b := NewBuilder("s1", from, from.Add(24*time.Hour))
	for i := range 1000 {
		b.Add(ev(from.Add(time.Duration(i)*time.Minute), "s1", fmt.Sprintf("192.0.2.%d", i%100), "P/1", accesslog.VerdictAllow, "", 1))
	}
	tl := b.Timeline()
	if len(tl.Buckets) > MaxBuckets || tl.BucketSeconds != 240 {
		t.Errorf("%d buckets of %ds", len(tl.Buckets), tl.BucketSeconds)
	}
	if len(tl.Events) != MaxEvents || !tl.Truncated || !tl.Events[0].Time.Equal(from.Add(800*time.Minute)) || !tl.Events[MaxEvents-1].Time.Equal(from.Add(999*time.Minute)) {
		t.Errorf("events: %d, first %v", len(tl.Events), tl.Events[0].Time)
	}
	if len(tl.Viewers) != MaxViewers || tl.OtherViewers != 100-MaxViewers {
		t.Errorf("viewers %d, other %d", len(tl.Viewers), tl.OtherViewers)
	}
}
