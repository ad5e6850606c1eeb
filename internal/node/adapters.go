package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/internal/revocation"
	"github.com/smd-media/smd/internal/rotation"
	"github.com/smd-media/smd/token"
)

// sessions serves the API's revocations from the smd_revoked bucket.
type sessions struct{ s *revocation.Store }

func (a sessions) Revoke(ctx context.Context, r control.Revocation, ttl time.Duration) (uint64, error) {
	return a.s.Revoke(ctx, toEntry(r), ttl)
}

// toEntry and toRevocation convert between the API's revocation and the
// store's: the same fields.
func toEntry(r control.Revocation) revocation.Entry {
	return revocation.Entry{SessionID: r.SessionID, Type: r.Type, Reason: r.Reason, Score: r.Score, By: r.By,
		RevokedAt: r.RevokedAt, ExpiresAt: r.ExpiresAt, Features: r.Features, Explanation: r.Explanation,
		Evidence: (*revocation.Evidence)(r.Evidence)}
}

func toRevocation(e revocation.Entry) control.Revocation {
	return control.Revocation{SessionID: e.SessionID, Type: e.Type, Reason: e.Reason, Score: e.Score, By: e.By,
		RevokedAt: e.RevokedAt, ExpiresAt: e.ExpiresAt, Features: e.Features, Explanation: e.Explanation,
		Evidence: (*control.Evidence)(e.Evidence)}
}

func (a sessions) Unrevoke(ctx context.Context, id string) (bool, error) {
	return a.s.Unrevoke(ctx, id)
}

func (a sessions) Get(ctx context.Context, id string) (control.Revocation, bool, error) {
	e, ok, err := a.s.Get(ctx, id)
	return toRevocation(e), ok, err
}

func (a sessions) List(ctx context.Context, after string, limit int) ([]control.Revocation, string, error) {
	es, next, err := a.s.List(ctx, after, limit)
	out := make([]control.Revocation, len(es))
	for i, e := range es {
		out[i] = toRevocation(e)
	}
	return out, next, err
}

// keys serves the API's key ring from the rotator (changes) and the
// control plane's own key watcher (the signing key).
type keys struct {
	r       *rotation.Rotator
	signing *keyring.Watcher
	// interval is control.rotation_interval, for the primary's next
	// rotation.
	interval time.Duration
}

func (a keys) List(ctx context.Context, withSecrets bool) ([]control.KeyInfo, error) {
	ks, err := a.r.List(ctx, rotation.ListOptions{ShowSecrets: withSecrets})
	if err != nil {
		return nil, err
	}
	out := keyInfos(ks)
	for i := range out {
		if k := &out[i]; k.State == string(keyring.StatePrimary) && a.interval > 0 {
			k.NextRotation = cmp.Or(k.PromotedAt, k.CreatedAt).Add(a.interval)
		}
	}
	return out, nil
}

func (a keys) Rotate(ctx context.Context) (control.RotationStatus, error) {
	st, err := a.r.RequestRotation(ctx, "api")
	if err != nil {
		return control.RotationStatus{}, err
	}
	phase := string(st.Phase)
	if phase == string(keyring.PhaseIdle) && !st.Requested.IsZero() {
		phase = "requested"
	}
	return control.RotationStatus{Phase: phase, NextKID: st.Next, RequestedAt: st.Requested}, nil
}

func (a keys) Import(ctx context.Context, export []byte) ([]control.KeyInfo, error) {
	ring, err := keyring.Parse(export)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", control.ErrInvalidInput, err)
	}
	if _, err := a.r.Import(ctx, ring); err != nil {
		if errors.Is(err, keyring.ErrImportRefused) {
			return nil, fmt.Errorf("%w: %v", control.ErrInvalidInput, err)
		}
		return nil, err
	}
	return a.List(ctx, false)
}

func (a keys) Signing(context.Context) (*token.Key, error) { return a.signing.Live().Signing() }

func keyInfos(ks []keyring.KeyInfo) []control.KeyInfo {
	out := make([]control.KeyInfo, len(ks))
	for i, k := range ks {
		out[i] = control.KeyInfo{ID: k.ID, State: string(k.State), Alg: k.Alg, Source: k.Source, CreatedAt: k.Created,
			PromotedAt: k.Promoted, DemotedAt: k.Demoted, RetireAfter: k.RetireAfter, RetiredAt: k.Retired, Secret: k.Secret}
	}
	return out
}
