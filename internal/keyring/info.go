package keyring

import (
	"time"

	"github.com/smd-media/smd/internal/seal"
)

// KeyInfo describes one key for operators (`smd keys list`, the API). It
// holds the secret only when asked for explicitly.
type KeyInfo struct {
	ID          string    `json:"id"`
	Alg         string    `json:"alg"`
	State       State     `json:"state"`
	Source      string    `json:"source"`
	Created     time.Time `json:"created"`
	Promoted    time.Time `json:"promoted,omitzero"`
	Demoted     time.Time `json:"demoted,omitzero"`
	RetireAfter time.Time `json:"retire_after,omitzero"`
	Retired     time.Time `json:"retired,omitzero"`
	// Secret is the plain secret, set only by Infos with reveal.
	Secret string `json:"secret,omitempty"`
}

// Infos lists the keys: next, primary, secondaries, retired, newest first
// within a state. Secrets are opened with mk and included only with
// reveal (mk may be nil without it).
func (d *Doc) Infos(mk *seal.Key, reveal bool) ([]KeyInfo, error) {
	var out []KeyInfo
	for _, s := range []State{StateNext, StatePrimary, StateSecondary, StateRetired} {
		for i := len(d.Keys) - 1; i >= 0; i-- {
			r := &d.Keys[i]
			if r.State != s {
				continue
			}
			ki := KeyInfo{ID: r.ID, Alg: r.Alg, State: r.State, Source: r.Source, Created: r.Created,
				Promoted: r.Promoted, Demoted: r.Demoted, RetireAfter: r.RetireAfter, Retired: r.Retired}
			if reveal && r.Secret != "" {
				b, err := OpenSecret(mk, r)
				if err != nil {
					return nil, err
				}
				ki.Secret = string(b)
			}
			out = append(out, ki)
		}
	}
	return out, nil
}
