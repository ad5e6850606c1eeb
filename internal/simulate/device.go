package simulate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// maxPlaylist bounds the playlists read.
const maxPlaylist = 1 << 20

// requestTimeout bounds one request.
const requestTimeout = 10 * time.Second

// errBlocked: the edge answered the blocked status; the device stops.
var errBlocked = errors.New("blocked")

// statusError is an answer other than 2xx or the blocked status.
type statusError struct{ status int }

func (e *statusError) Error() string { return fmt.Sprintf("status %d", e.status) }

// device sends the requests of one device of a session, with its
// identity's headers, and records every answer in the session.
type device struct {
	s             *session
	identity      atomic.Pointer[Identity] // replaced once by an address change
	http          *http.Client
	blockedStatus int
}

func newDevice(s *session, id Identity, c *http.Client, blockedStatus int) *device {
	d := &device{s: s, http: c, blockedStatus: blockedStatus}
	d.identity.Store(&id)
	return d
}

// moveTo changes the device's identity: a new network.
func (d *device) moveTo(id Identity) { d.identity.Store(&id) }

// get fetches u. Playlists (segment false) are returned; segment bodies
// are read and dropped. It returns errBlocked for the blocked status and a
// *statusError for other answers that are not 2xx.
func (d *device) get(ctx context.Context, u string, segment bool) ([]byte, error) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	d.identity.Load().apply(req.Header)
	d.s.started(time.Now())
	resp, err := d.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // the run ended: not an error of the edge
		}
		d.s.answered(time.Now(), 0, segment, 0, false)
		return nil, err
	}
	defer resp.Body.Close()
	var body []byte
	var n int64
	if segment {
		n, err = io.Copy(io.Discard, resp.Body)
	} else {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxPlaylist))
		n = int64(len(body))
	}
	blocked := resp.StatusCode == d.blockedStatus
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil && !blocked {
		d.s.answered(time.Now(), 0, segment, n, false)
		return nil, err
	}
	d.s.answered(time.Now(), resp.StatusCode, segment, n, blocked)
	switch {
	case blocked:
		return nil, errBlocked
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, &statusError{resp.StatusCode}
	}
	return body, nil
}

// sleep waits for d or the end of ctx, and reports whether ctx is still
// going.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// stopped reports whether err ends a device's play: blocked, or the run
// is over.
func stopped(ctx context.Context, err error) bool {
	return errors.Is(err, errBlocked) || ctx.Err() != nil
}
