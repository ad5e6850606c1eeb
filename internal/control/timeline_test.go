package control_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/timeline"
)

// fakeTimelines answers a timeline with one allowed request of the
// session and one refused, or err.
type fakeTimelines struct {
	err  error
	got  *[2]time.Time
	span time.Duration
}

func (f fakeTimelines) Timeline(_ context.Context, id string, from, to time.Time) (timeline.Timeline, error) {
	if f.err != nil {
		return timeline.Timeline{}, f.err
	}
	if f.got != nil {
		*f.got = [2]time.Time{from, to}
	}
	return timeline.NewBuilder(id, from, to).Timeline(), nil
}

// TestSessionTimeline: GET /v1/sessions/{id}/timeline answers the
// timeline over ?since= (default 15m) as openapi.json says; bad since or
// id is 400; no timelines or a failing stream 503; read scope needed.
func TestSessionTimeline(t *testing.T) {
	var got [2]time.Time
	for _, tc := range []struct {
		name, query string
		tl          control.Timelines
		status      int
		span        time.Duration
	}{
		{"default span", "", fakeTimelines{got: &got}, 200, 15 * time.Minute},
		{"an hour", "?since=1h", fakeTimelines{got: &got}, 200, time.Hour},
		{"too short", "?since=10s", fakeTimelines{}, 400, 0},
		{"too long", "?since=25h", fakeTimelines{}, 400, 0},
		{"not a duration", "?since=x", fakeTimelines{}, 400, 0},
		{"no stream", "", nil, 503, 0},
		{"failing", "", fakeTimelines{err: errors.New("nats down")}, 503, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, func(d *control.Deps) { d.Timelines = tc.tl })
			r := e.do(t, "GET", "/v1/sessions/s1/timeline"+tc.query, e.reader, "")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status == 200 {
				var tl timeline.Timeline
				r.decode(t, &tl)
				if tl.SessionID != "s1" || got[1].Sub(got[0]) != tc.span || len(tl.Buckets) == 0 {
					t.Errorf("span %v: %s", got[1].Sub(got[0]), r.body)
				}
			}
		})
	}
	e := newEnvWith(t, func(d *control.Deps) { d.Timelines = fakeTimelines{} })
	expect(t, e.do(t, "GET", "/v1/sessions/a-b/timeline", e.reader, ""), 400, "invalid_session_id")
	expect(t, e.do(t, "GET", "/v1/sessions/s1/timeline", "", ""), 401, "api_key_missing")
}

// fakeIndex is a sorted index over fixed ids; ok false until loaded.
type fakeIndex struct {
	ids    []string
	loaded bool
}

func (f fakeIndex) Page(after, prefix string, limit int) ([]string, string, int, bool) {
	if !f.loaded {
		return nil, "", 0, false
	}
	var match []string
	for _, id := range f.ids {
		if strings.HasPrefix(id, prefix) {
			match = append(match, id)
		}
	}
	total := len(match)
	match = slices.DeleteFunc(match, func(id string) bool { return id <= after })
	next := ""
	if len(match) > limit {
		match, next = match[:limit], match[limit-1]
	}
	return match, next, total, true
}

// TestRevokedIndex: with the control plane's index the revoked list
// pages and searches by prefix, says the total, and skips ids no longer
// revoked; without it (or before it loads) it pages from the store and
// refuses a search with 503; a bad prefix is 400.
func TestRevokedIndex(t *testing.T) {
	ids := []string{"ab1", "ab2", "ab3", "b1", "gone1"}
	for _, tc := range []struct {
		name, query string
		index       control.RevokedIndex
		status      int
		want        []string
		next        string
		total       int // -1: absent
	}{
		{"index, first page", "?limit=2", fakeIndex{ids, true}, 200, []string{"ab1", "ab2"}, "ab2", 5},
		{"index, prefix", "?prefix=ab&limit=2", fakeIndex{ids, true}, 200, []string{"ab1", "ab2"}, "ab2", 3},
		{"index, prefix page 2", "?prefix=ab&after=ab2&limit=2", fakeIndex{ids, true}, 200, []string{"ab3"}, "", 3},
		{"index skips the unrevoked", "?prefix=g", fakeIndex{ids, true}, 200, []string{}, "", 1},
		{"index not loaded: the store", "?limit=10", fakeIndex{ids, false}, 200, []string{"ab1", "ab2", "ab3", "b1"}, "", -1},
		{"no index: the store", "?limit=10", nil, 200, []string{"ab1", "ab2", "ab3", "b1"}, "", -1},
		{"no index: no search", "?prefix=ab", nil, 503, nil, "", -1},
		{"bad prefix", "?prefix=a-b", fakeIndex{ids, true}, 400, nil, "", -1},
		{"two prefixes", "?prefix=a&prefix=b", fakeIndex{ids, true}, 400, nil, "", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, func(d *control.Deps) { d.RevokedIndex = tc.index })
			for _, id := range ids[:4] {
				expect(t, e.do(t, "POST", "/v1/sessions/"+id+"/revoke", e.admin, ""), 200, "")
			}
			r := e.do(t, "GET", "/v1/sessions/revoked"+tc.query, e.reader, "")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status != 200 {
				return
			}
			var page struct {
				Items []control.Revocation
				Next  string
				Total *int
			}
			r.decode(t, &page)
			var got []string
			for _, it := range page.Items {
				got = append(got, it.SessionID)
			}
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) || page.Next != tc.next ||
				(tc.total < 0) != (page.Total == nil) || (page.Total != nil && *page.Total != tc.total) {
				t.Errorf("got %v next %q total %v: %s", got, page.Next, page.Total, r.body)
			}
		})
	}
}
