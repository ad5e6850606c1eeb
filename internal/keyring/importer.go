package keyring

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/smd-media/smd/internal/seal"
)

// ErrImportRefused marks the errors of [Import] that come from the file
// and the ring (not from the system): an API answers them 400. Their
// messages name the problem and the key ids, never a secret.
var ErrImportRefused = errors.New("import refused")

// ErrRotationInProgress is returned by [Import] (wrapped along with
// [ErrImportRefused]) while a next key is being distributed.
var ErrRotationInProgress = errors.New("a key rotation is in progress")

// ImportResult tells what [Import] did.
type ImportResult struct {
	// Added are the ids of the keys added, with their new states.
	Added map[string]State `json:"added"`
	// Unchanged are the ids already in the ring with the same secret.
	Unchanged []string `json:"unchanged,omitempty"`
	// Rotating is set when the imported primary became the next key and
	// goes through a rotation (a ring that already had keys).
	Rotating bool `json:"rotating"`
}

// ImportTimes are the durations Import needs from the rotation's settings.
type ImportTimes struct {
	// RetireAfter is how long an imported secondary (a key that may have
	// signed tokens still valid) keeps verifying: the max token lifetime
	// plus the clock skew.
	RetireAfter time.Duration
	// Grace is the grace time of the rotation that an import into a ring
	// with keys starts.
	Grace time.Duration
}

// Import adds the keys of a key file (SMDE's Secrets Manager export, or a
// map of one key) to the ring document cur (nil: no ring yet) and returns
// the document to write, nil when nothing changes.
//
//   - Into no ring: the file's primary becomes the primary, its secondary
//     a secondary that retires after RetireAfter.
//   - Into a ring: the file's primary becomes the next key and goes
//     through a normal rotation (edges load it, then it is promoted, so no
//     edge ever lacks it); its secondary becomes a secondary that retires
//     after RetireAfter. Refused with [ErrRotationInProgress] while a
//     rotation is under way.
//   - A key id already in the ring with the same secret is left as it is
//     (an import may be repeated); with another secret it is refused.
func Import(cur *Doc, file *Ring, mk *seal.Key, now time.Time, t ImportTimes) (*Doc, ImportResult, error) {
	now = now.UTC()
	res := ImportResult{Added: map[string]State{}}
	primary := file.Primary()
	if primary == nil {
		return nil, res, fmt.Errorf("%w: the key file has %d keys and names no primary: import SMDE's Secrets Manager export or a map of one key", ErrImportRefused, file.Len())
	}
	var d *Doc
	switch {
	case cur == nil:
		d = &Doc{Version: DocVersion, Rotation: Rotation{Phase: PhaseIdle}}
	case cur.Rotation.Phase == PhaseDistributing:
		return nil, res, fmt.Errorf("%w: %w (next key %s); import once it completes", ErrImportRefused, ErrRotationInProgress, shownKID(cur.Rotation.Next))
	default:
		d = cur.Clone()
	}
	for _, k := range file.Keys() {
		have := d.Find(k.ID)
		if have == nil {
			continue
		}
		if have.State == StateRetired {
			return nil, res, fmt.Errorf("%w: kid %s is already in the ring, retired; a retired key cannot come back", ErrImportRefused, shownKID(k.ID))
		}
		secret, err := OpenSecret(mk, have)
		if err != nil {
			return nil, res, err
		}
		if subtle.ConstantTimeCompare(secret, k.Secret) != 1 {
			return nil, res, fmt.Errorf("%w: kid %s is already in the ring (%s) with another secret", ErrImportRefused, shownKID(k.ID), have.State)
		}
		res.Unchanged = append(res.Unchanged, k.ID)
	}
	for _, k := range file.Keys() {
		if d.Find(k.ID) != nil {
			continue
		}
		r := Record{ID: k.ID, Alg: AlgHS256, Source: SourceImported, Created: now, Secret: SealSecret(mk, k.ID, k.Secret)}
		switch {
		case k != primary:
			r.State, r.Demoted, r.RetireAfter = StateSecondary, now, now.Add(t.RetireAfter)
		case cur == nil:
			r.State, r.Promoted = StatePrimary, now
		default:
			r.State = StateNext
			d.Rotation.Phase, d.Rotation.Next, d.Rotation.Reason = PhaseDistributing, k.ID, "import"
			d.Rotation.Started, d.Rotation.Deadline = now, now.Add(t.Grace)
			res.Rotating = true
		}
		d.Keys = append(d.Keys, r)
		res.Added[k.ID] = r.State
	}
	if len(res.Added) == 0 {
		return nil, res, nil
	}
	if err := d.Validate(); err != nil {
		return nil, res, err
	}
	return d, res, nil
}
