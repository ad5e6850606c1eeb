package simulate

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/control/client"
)

// revocations are the sessions' revocations as the API tells them after a
// run: which were revoked, by whom (type auto or manual) and with what
// score. The edge's answers say whether a session was blocked; these say
// why.
type revocations struct {
	// bySession holds the revoked sessions.
	bySession map[string]control.Revocation
	// note says why they could not be read, if so.
	note string
}

// revocations reads every session's revocation through the API. A key
// without the read scope (an issuer key) cannot: the note says so.
func (s *Simulation) revocations(ctx context.Context) revocations {
	out := revocations{bySession: map[string]control.Revocation{}}
	for _, sess := range s.sessions {
		r, err := s.cfg.API.Revocation(ctx, sess.id)
		var ae *client.Error
		switch {
		case err == nil:
			out.bySession[sess.id] = r
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		case errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized):
			out.note = fmt.Sprintf("the API key may not read revocations (%s); give an admin or read key to see them", ae.Code)
			return out
		default:
			out.note = fmt.Sprintf("reading revocations: %v", err)
			return out
		}
	}
	return out
}
