package site

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/mediatime"
)

// The share demo: the token the page plays, played at once from several
// simulated places (addresses in other networks and countries, sent to
// the edge as X-Forwarded-For and CloudFront-Viewer-Country from this
// process, which the demo's edge trusts), as a viewer who posts the URL
// would see it played; the detector sees one session in many places and
// revokes it.

// place is a simulated viewer's location.
type place struct {
	Addr    string `json:"addr"`
	Country string `json:"country"`
}

// sharePlaces are the simulated places: each in a /24 of its own, in
// five countries (198.18.0.0/15 is set aside for tests, RFC 2544).
var sharePlaces = []place{
	{"198.18.11.23", "US"}, {"198.18.42.7", "US"}, {"198.18.77.140", "GB"}, {"198.18.103.9", "DE"},
	{"198.19.5.61", "BR"}, {"198.19.66.18", "IN"}, {"198.19.120.250", "JP"}, {"198.19.201.33", "GB"},
}

const (
	// shareFor bounds a share run.
	shareFor = 90 * time.Second
	// maxShares bounds the share runs at once.
	maxShares = 4
)

// placeStatus is one simulated place's playback, as GET
// /demo/api/share/{id} shows it.
type placeStatus struct {
	place
	Requests int `json:"requests"`
	// Bytes is the media received.
	Bytes int64 `json:"bytes"`
	// LastStatus is the edge's status for the last request.
	LastStatus int `json:"last_status"`
	// State is "starting", "playing", "refused" (the edge answered 4xx:
	// the binding or a revocation stops it) or "stopped".
	State string `json:"state"`
}

// shareRun is one share demo in progress or done.
type shareRun struct {
	ID        string    `json:"id"`
	SessionID string    `json:"session_id"`
	Started   time.Time `json:"started"`
	// Done says the run is over (every place refused, or time up).
	Done   bool          `json:"done"`
	Places []placeStatus `json:"places"`
	// Revocation is the session's revocation, once there is one.
	Revocation *control.Revocation `json:"revocation,omitempty"`

	cancel context.CancelFunc
}

// shares are the share runs, kept ten minutes after they end.
type shares struct {
	edge string
	log  *slog.Logger
	http *http.Client

	mu   sync.Mutex
	runs map[string]*shareRun
	wg   sync.WaitGroup
}

func newShares(edge string, log *slog.Logger) *shares {
	return &shares{edge: edge, log: log, runs: map[string]*shareRun{},
		http: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (s *Site) startShare(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Edge == "" {
		writeError(w, http.StatusServiceUnavailable, "share_off", "the share demo is not configured")
		return
	}
	t, seg, _, ok := s.demoToken(w, r, true)
	if !ok {
		return
	}
	// The directory the token grants: a demo asset's (demoToken checked).
	run, err := s.shares.start(t.SessionID, seg, t.Claims.Paths[0], r.Header.Get("User-Agent"), r.Header.Get("Referer"))
	if err != nil {
		writeError(w, http.StatusTooManyRequests, "too_many_shares", err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, run)
}

func (s *Site) shareStatus(w http.ResponseWriter, id string) {
	run := s.shares.get(id)
	if run == nil {
		writeError(w, http.StatusNotFound, "share_not_found", "no such share run (they are kept ten minutes)")
		return
	}
	if run.SessionID != "" {
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		rev, err := s.cfg.API.Revocation(ctx, run.SessionID)
		cancel()
		if err == nil {
			run.Revocation = &rev
		}
	}
	writeJSON(w, http.StatusOK, run)
}

// start begins a share run of the token segment seg over the asset
// directory dir ("/vod/demo-hls/"), with the viewer's User-Agent and
// Referer (a sharer copies them too).
func (sh *shares) start(session, seg, dir, ua, referer string) (*shareRun, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	active := 0
	for id, r := range sh.runs {
		if r.Done && time.Since(r.Started) > 10*time.Minute {
			delete(sh.runs, id)
			continue
		}
		if !r.Done {
			if r.SessionID == session {
				return nil, errors.New("this session is already being shared; wait for the run to end")
			}
			active++
		}
	}
	if active >= maxShares {
		return nil, fmt.Errorf("%d share runs are going on; wait for one to end", active)
	}
	var b [8]byte
	rand.Read(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), shareFor)
	run := &shareRun{ID: hex.EncodeToString(b[:]), SessionID: session, Started: time.Now().UTC(), cancel: cancel}
	for _, p := range sharePlaces {
		run.Places = append(run.Places, placeStatus{place: p, State: "starting"})
	}
	sh.runs[run.ID] = run
	var wg sync.WaitGroup
	for i := range run.Places {
		wg.Add(1)
		sh.wg.Add(1)
		go func() {
			defer sh.wg.Done()
			defer wg.Done()
			sh.play(ctx, run, i, seg, dir, ua, referer)
		}()
	}
	sh.wg.Add(1)
	go func() {
		defer sh.wg.Done()
		wg.Wait()
		cancel()
		sh.mu.Lock()
		run.Done = true
		sh.mu.Unlock()
	}()
	return sh.snapshot(run), nil
}

// get returns a copy of a run.
func (sh *shares) get(id string) *shareRun {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	r := sh.runs[id]
	if r == nil {
		return nil
	}
	return sh.snapshot(r)
}

// snapshot copies r; sh.mu is held.
func (sh *shares) snapshot(r *shareRun) *shareRun {
	c := *r
	c.Places = append([]placeStatus(nil), r.Places...)
	c.cancel = nil
	return &c
}

// stopAll ends every run and waits for their players.
func (sh *shares) stopAll() {
	sh.mu.Lock()
	for _, r := range sh.runs {
		r.cancel()
	}
	sh.mu.Unlock()
	sh.wg.Wait()
}

// update changes place i of run under the lock.
func (sh *shares) update(run *shareRun, i int, f func(*placeStatus)) {
	sh.mu.Lock()
	f(&run.Places[i])
	sh.mu.Unlock()
}

// play plays the asset's HLS form from place i at real time: the
// multivariant playlist, the first variant and audio rendition, and
// their segments one after the other, each after the previous one's
// duration, until the edge refuses or ctx ends.
func (sh *shares) play(ctx context.Context, run *shareRun, i int, seg, dir, ua, referer string) {
	p := run.Places[i].place
	// Start one after the other, as a link spreads.
	if !sleepCtx(ctx, time.Duration(i)*700*time.Millisecond) {
		return
	}
	base := sh.edge + "/" + seg + dir
	get := func(u string) ([]byte, bool) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, false
		}
		req.Header.Set("X-Forwarded-For", p.Addr)
		req.Header.Set("CloudFront-Viewer-Country", p.Country)
		if ua != "" {
			req.Header.Set("User-Agent", ua)
		}
		if referer != "" {
			req.Header.Set("Referer", referer)
		}
		resp, err := sh.http.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				sh.update(run, i, func(s *placeStatus) { s.State = "stopped" })
			}
			return nil, false
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		sh.update(run, i, func(s *placeStatus) {
			s.Requests++
			s.Bytes += int64(len(b))
			s.LastStatus = resp.StatusCode
			switch {
			case resp.StatusCode >= 400:
				s.State = "refused"
			case err == nil:
				s.State = "playing"
			}
		})
		return b, err == nil && resp.StatusCode == http.StatusOK
	}
	master, ok := get(base + "master.m3u8")
	if !ok {
		return
	}
	renditions := variantURIs(master)
	if len(renditions) == 0 {
		sh.update(run, i, func(s *placeStatus) { s.State = "stopped" })
		return
	}
	fetched := map[string]bool{}
	for ctx.Err() == nil {
		wait := 2 * time.Second
		for _, r := range renditions {
			ru, err := url.Parse(base)
			if err != nil {
				return
			}
			ru, _ = ru.Parse(r)
			body, ok := get(ru.String())
			if !ok {
				return
			}
			segs, err := mediatime.ParseHLS(ru, body)
			if err != nil || len(segs) == 0 {
				return
			}
			// The next segment not fetched yet (live: near the end).
			next := segs[0]
			for _, sg := range segs {
				if !fetched[sg.Path] {
					next = sg
					break
				}
			}
			if fetched[next.Path] { // all fetched (VOD): start over
				clear(fetched)
				next = segs[0]
			}
			su := *ru
			su.Path, su.RawPath, su.RawQuery = next.Path, "", ""
			if _, ok := get(su.String()); !ok {
				return
			}
			fetched[next.Path] = true
			if d := time.Duration(next.MS) * time.Millisecond; d > 0 && d < wait {
				wait = d
			}
		}
		if !sleepCtx(ctx, wait) {
			break
		}
	}
	sh.update(run, i, func(s *placeStatus) {
		if s.State == "playing" {
			s.State = "stopped"
		}
	})
}

// variantURIs returns a multivariant playlist's first variant and first
// EXT-X-MEDIA rendition with a URI.
func variantURIs(master []byte) []string {
	var variant, media string
	sc := bufio.NewScanner(bytes.NewReader(master))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA:") && media == "":
			if _, rest, ok := strings.Cut(line, `URI="`); ok {
				media, _, _ = strings.Cut(rest, `"`)
			}
		case line != "" && !strings.HasPrefix(line, "#") && variant == "":
			variant = line
		}
	}
	var out []string
	for _, u := range []string{variant, media} {
		if u != "" {
			out = append(out, u)
		}
	}
	return out
}

// tokenSegment returns the first path segment of a playback URL: the
// token.
func tokenSegment(playback string) (string, error) {
	u, err := url.Parse(playback)
	if err != nil || u.Path == "" {
		return "", errors.New("playback_url: not a URL with a path")
	}
	seg, _, ok := strings.Cut(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	if !ok || seg == "" {
		return "", errors.New("playback_url: no token segment before the asset's path")
	}
	return seg, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
