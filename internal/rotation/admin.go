package rotation

import (
	"context"
	"encoding/json"
	"time"

	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/internal/lease"
)

// Status is the rotation's state for operators (`smd keys status`, the API).
// It holds no secret.
type Status struct {
	// Phase is idle or distributing.
	Phase keyring.Phase `json:"phase"`
	// Primary is the key that signs; PrimarySince when it started.
	Primary      string    `json:"primary"`
	PrimarySince time.Time `json:"primary_since"`
	// Next is the key being distributed (phase distributing), with the
	// time the rotation promotes it at the latest.
	Next     string    `json:"next,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
	// Reason is why the current or last rotation started.
	Reason string `json:"reason,omitempty"`
	// NextRotation is when the schedule starts the next rotation.
	NextRotation time.Time `json:"next_rotation"`
	// Requested is set while an on-demand rotation waits for the leader.
	Requested   time.Time `json:"requested,omitzero"`
	RequestedBy string    `json:"requested_by,omitempty"`
	// LastCompleted, LastResult and LastLacking describe the last rotation.
	LastCompleted time.Time `json:"last_completed,omitzero"`
	LastResult    string    `json:"last_result,omitempty"`
	LastLacking   []string  `json:"last_lacking,omitempty"`
	// Completed counts the rotations completed.
	Completed uint64 `json:"completed"`
	// Revision is the smd_keys revision of the ring.
	Revision uint64 `json:"revision"`
	// Leader is the holder of the rotation lease ("" when nobody leads).
	Leader string `json:"leader,omitempty"`
	// Keys lists the keys, without secrets.
	Keys []keyring.KeyInfo `json:"keys"`
}

// Status reads the ring and the lease and describes them; the error wraps
// [keyring.ErrNoRing] when no ring exists yet.
func (r *Rotator) Status(ctx context.Context) (Status, error) {
	d, rev, err := keyring.GetDoc(ctx, r.cfg.Keys)
	if err != nil {
		return Status{}, err
	}
	return r.status(ctx, d, rev), nil
}

func (r *Rotator) status(ctx context.Context, d *keyring.Doc, rev uint64) Status {
	rot := d.Rotation
	p := d.Primary()
	st := Status{
		Phase: rot.Phase, Primary: p.ID, PrimarySince: p.Promoted, Next: rot.Next, Deadline: rot.Deadline,
		Reason: rot.Reason, Requested: rot.Requested, RequestedBy: rot.RequestedBy,
		LastCompleted: rot.LastCompleted, LastResult: rot.LastResult, LastLacking: rot.LastLacking,
		Completed: rot.Completed, Revision: rev,
	}
	st.NextRotation = p.Promoted.Add(r.cfg.Interval)
	if !rot.Requested.IsZero() {
		st.NextRotation = rot.Requested
	}
	st.Keys, _ = d.Infos(nil, false) // without secrets it cannot fail
	if r.cfg.Leases != nil {
		if e, err := r.cfg.Leases.Get(ctx, LeaseName); err == nil {
			var v lease.Value
			if json.Unmarshal(e.Value(), &v) == nil {
				st.Leader = v.Holder
			}
		}
	}
	return st
}

// RequestRotation asks for a rotation now: it records the request in the
// ring (any process may call it; the leader acts on it within a tick) and
// returns the status. While a rotation is already under way nothing is
// recorded: the status shows it (phase distributing). by says who asks, for
// the log and the status.
func (r *Rotator) RequestRotation(ctx context.Context, by string) (Status, error) {
	now := r.cfg.Now().UTC()
	d, rev, err := keyring.UpdateDoc(ctx, r.cfg.Keys, r.cfg.Now, func(cur *keyring.Doc) (*keyring.Doc, error) {
		if cur == nil {
			return nil, keyring.ErrNoRing
		}
		if cur.Rotation.Phase != keyring.PhaseIdle || !cur.Rotation.Requested.IsZero() {
			return nil, nil
		}
		cur.Rotation.Requested, cur.Rotation.RequestedBy = now, by
		return cur, nil
	})
	if err != nil {
		return Status{}, err
	}
	r.log.Info("key rotation requested", "by", by, "phase", d.Rotation.Phase)
	select { // this process leads: act now rather than at the next tick
	case r.wake <- struct{}{}:
	default:
	}
	return r.status(ctx, d, rev), nil
}

// ListOptions choose what List shows.
type ListOptions struct {
	// ShowSecrets includes the plain secrets (`smd keys list
	// --show-secrets`). Never the default.
	ShowSecrets bool
}

// List returns the keys of the ring (see [keyring.Doc.Infos]); secrets only
// with ShowSecrets.
func (r *Rotator) List(ctx context.Context, o ListOptions) ([]keyring.KeyInfo, error) {
	d, _, err := keyring.GetDoc(ctx, r.cfg.Keys)
	if err != nil {
		return nil, err
	}
	return d.Infos(r.cfg.MasterKey, o.ShowSecrets)
}

// Import adds the keys of an SMDE Secrets Manager export (or a map of one
// key) to the ring, with the semantics of [keyring.Import]: into no ring
// they become primary and secondary; into a ring the imported primary
// becomes the next key of a rotation that the leader completes.
func (r *Rotator) Import(ctx context.Context, file *keyring.Ring) (keyring.ImportResult, error) {
	var res keyring.ImportResult
	now := r.cfg.Now()
	_, rev, err := keyring.UpdateDoc(ctx, r.cfg.Keys, r.cfg.Now, func(cur *keyring.Doc) (*keyring.Doc, error) {
		d, rs, err := keyring.Import(cur, file, r.cfg.MasterKey, now, keyring.ImportTimes{RetireAfter: r.RetireDelay(), Grace: r.cfg.Grace})
		res = rs
		return d, err
	})
	if err != nil {
		return res, err
	}
	r.log.Info("keys imported", "added", res.Added, "unchanged", res.Unchanged, "rotating", res.Rotating, "revision", rev)
	return res, nil
}
