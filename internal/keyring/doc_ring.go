package keyring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// DocVersion is the version of the ring document this code writes and reads.
const DocVersion = 1

// AlgHS256 is the only signing algorithm of SMDE tokens.
const AlgHS256 = "HS256"

// MaxDocSize bounds a ring document read from NATS or a snapshot.
const MaxDocSize = 1 << 20

// State is where a key is in its life.
type State string

// The states of a key, in the order a key goes through them.
const (
	// StateNext: created, being distributed to the edges; verifies, never signs.
	StateNext State = "next"
	// StatePrimary: signs new tokens (exactly one key).
	StatePrimary State = "primary"
	// StateSecondary: a former primary; verifies until its retire_after.
	StateSecondary State = "secondary"
	// StateRetired: no longer verifies; its secret is erased.
	StateRetired State = "retired"
)

// Verifies reports whether keys in state s are accepted by edges.
func (s State) Verifies() bool {
	return s == StateNext || s == StatePrimary || s == StateSecondary
}

func (s State) valid() bool { return s.Verifies() || s == StateRetired }

// Phase is the rotation's progress, persisted so that a new leader resumes.
type Phase string

// The rotation phases.
const (
	// PhaseIdle: no rotation under way (secondaries may wait for retirement).
	PhaseIdle Phase = "idle"
	// PhaseDistributing: a next key exists; the leader waits until every
	// live edge holds it (or the grace deadline passes), then promotes.
	PhaseDistributing Phase = "distributing"
)

// Where a key came from.
const (
	SourceGenerated = "generated"
	SourceImported  = "imported"
)

// Record is one key of the ring as stored in NATS: its secret only sealed.
type Record struct {
	// ID is the key id (the JWT "kid").
	ID string `json:"id"`
	// Alg is the algorithm, HS256.
	Alg string `json:"alg"`
	// State is next, primary, secondary or retired.
	State State `json:"state"`
	// Secret is the secret sealed with the master key (see package seal),
	// bound to the key id; empty once retired.
	Secret string `json:"secret,omitempty"`
	// Source is "generated" or "imported".
	Source string `json:"source"`
	// Created is when the key was created (or imported).
	Created time.Time `json:"created"`
	// Promoted is when the key became primary.
	Promoted time.Time `json:"promoted,omitzero"`
	// Demoted is when the key stopped signing (became secondary).
	Demoted time.Time `json:"demoted,omitzero"`
	// RetireAfter is when a secondary may be retired: no token it signed
	// can be valid after it (Demoted + max token lifetime + clock skew).
	RetireAfter time.Time `json:"retire_after,omitzero"`
	// Retired is when the key was retired.
	Retired time.Time `json:"retired,omitzero"`
}

// Rotation is the rotation's persisted progress.
type Rotation struct {
	// Phase is idle or distributing.
	Phase Phase `json:"phase"`
	// Next is the id of the key being distributed (phase distributing).
	Next string `json:"next,omitempty"`
	// Reason says why the current (or last) rotation started: "schedule",
	// "request" or "import".
	Reason string `json:"reason,omitempty"`
	// Started is when the current (or last) rotation created its next key.
	Started time.Time `json:"started,omitzero"`
	// Deadline is when the current rotation promotes even if some live
	// edges have not reported the next key (Started + grace).
	Deadline time.Time `json:"deadline,omitzero"`
	// Requested is when an on-demand rotation was asked for and not yet
	// started; zero when none is pending.
	Requested time.Time `json:"requested,omitzero"`
	// RequestedBy says who asked (free text, for the log and status).
	RequestedBy string `json:"requested_by,omitempty"`
	// LastCompleted is when the last rotation promoted its key.
	LastCompleted time.Time `json:"last_completed,omitzero"`
	// LastResult is "ok" or "grace_timeout".
	LastResult string `json:"last_result,omitempty"`
	// LastLacking are the edges that had not reported the key when the
	// last rotation promoted on its grace timeout.
	LastLacking []string `json:"last_lacking,omitempty"`
	// Completed counts the rotations completed.
	Completed uint64 `json:"completed"`
}

// Doc is the ring document: the one entry "ring" of the smd_keys bucket,
// updated with compare-and-set on its revision.
type Doc struct {
	// Version is DocVersion.
	Version int `json:"version"`
	// Keys are the keys, oldest first.
	Keys []Record `json:"keys"`
	// Rotation is the rotation's progress.
	Rotation Rotation `json:"rotation"`
	// Updated is when the document was last written.
	Updated time.Time `json:"updated"`
}

// DecodeDoc reads and validates a ring document.
func DecodeDoc(b []byte) (*Doc, error) {
	if len(b) > MaxDocSize {
		return nil, fmt.Errorf("ring document: %d bytes, more than %d", len(b), MaxDocSize)
	}
	var d Doc
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("ring document: not valid JSON: %w", jsonErr(err))
	}
	if dec.More() {
		return nil, errors.New("ring document: unexpected data after the JSON object")
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// jsonErr keeps a JSON error's kind and position but never the input's text.
func jsonErr(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("syntax error at offset %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Errorf("field %s: want %s", te.Field, te.Type)
	}
	return errors.New("malformed")
}

// Encode returns the document as JSON.
func (d *Doc) Encode() ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(d)
}

// Clone returns a deep copy.
func (d *Doc) Clone() *Doc {
	c := *d
	c.Keys = slices.Clone(d.Keys)
	c.Rotation.LastLacking = slices.Clone(d.Rotation.LastLacking)
	return &c
}

// Validate checks the document's invariants: version, key ids, algorithm,
// states, exactly one primary, sealed secrets on every key that verifies,
// and a rotation phase that agrees with the keys (a next key exactly when
// distributing). Errors name the field and never contain a secret.
func (d *Doc) Validate() error {
	if d.Version != DocVersion {
		return fmt.Errorf("ring document: version %d, this smd reads version %d", d.Version, DocVersion)
	}
	seen := make(map[string]bool, len(d.Keys))
	var primaries, nexts []string
	for i := range d.Keys {
		r := &d.Keys[i]
		where := fmt.Sprintf("ring document: keys[%d]", i)
		if err := checkKID(r.ID); err != nil {
			return fmt.Errorf("%s.id: %w", where, err)
		}
		if seen[r.ID] {
			return fmt.Errorf("%s.id: duplicate kid %s", where, shownKID(r.ID))
		}
		seen[r.ID] = true
		if r.Alg != AlgHS256 {
			return fmt.Errorf("%s.alg: %q, want %q", where, r.Alg, AlgHS256)
		}
		if !r.State.valid() {
			return fmt.Errorf("%s.state: %q, want next, primary, secondary or retired", where, r.State)
		}
		if r.State.Verifies() && r.Secret == "" {
			return fmt.Errorf("%s.secret: missing for the %s key %s", where, r.State, shownKID(r.ID))
		}
		if r.Created.IsZero() {
			return fmt.Errorf("%s.created: missing", where)
		}
		switch r.State {
		case StatePrimary:
			primaries = append(primaries, r.ID)
		case StateNext:
			nexts = append(nexts, r.ID)
		}
	}
	if len(primaries) != 1 {
		return fmt.Errorf("ring document: %d primary keys, want exactly 1", len(primaries))
	}
	rot := &d.Rotation
	switch rot.Phase {
	case PhaseIdle:
		if len(nexts) != 0 {
			return fmt.Errorf("ring document: rotation.phase is idle but key %s is next", shownKID(nexts[0]))
		}
	case PhaseDistributing:
		if len(nexts) != 1 || nexts[0] != rot.Next {
			return fmt.Errorf("ring document: rotation.phase is distributing %s but the ring has %d next keys", shownKID(rot.Next), len(nexts))
		}
		if rot.Deadline.IsZero() {
			return errors.New("ring document: rotation.deadline missing while distributing")
		}
	default:
		return fmt.Errorf("ring document: rotation.phase %q, want idle or distributing", rot.Phase)
	}
	return nil
}

// Find returns the record with the id, or nil.
func (d *Doc) Find(id string) *Record {
	for i := range d.Keys {
		if d.Keys[i].ID == id {
			return &d.Keys[i]
		}
	}
	return nil
}

// Primary returns the primary record (nil only in an invalid document).
func (d *Doc) Primary() *Record { return d.first(StatePrimary) }

// Next returns the next record, or nil.
func (d *Doc) Next() *Record { return d.first(StateNext) }

func (d *Doc) first(s State) *Record {
	for i := range d.Keys {
		if d.Keys[i].State == s {
			return &d.Keys[i]
		}
	}
	return nil
}

// PruneRetired drops the oldest retired records beyond keep.
func (d *Doc) PruneRetired(keep int) {
	n := 0
	for _, r := range d.Keys {
		if r.State == StateRetired {
			n++
		}
	}
	drop := n - keep
	if drop <= 0 {
		return
	}
	d.Keys = slices.DeleteFunc(d.Keys, func(r Record) bool {
		if r.State == StateRetired && drop > 0 {
			drop--
			return true
		}
		return false
	})
}
