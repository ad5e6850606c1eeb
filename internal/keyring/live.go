package keyring

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/smd-media/smd/internal/seal"
	"github.com/smd-media/smd/token"
)

// Live is a key ring that changes: the verification view (next, primary and
// secondary keys) and the signing view (the primary) of the last ring
// document given to [Live.Set]. Reads are lock-free (one atomic load); a
// new document is swapped in whole. For a key id whose secret does not
// change, Lookup returns the same *token.Key across updates, so verifiers
// keep their per-key caches through a rotation. The zero value is an empty
// ring, ready to use.
type Live struct {
	mu  sync.Mutex // serializes Set
	cur atomic.Pointer[liveView]
}

// liveView is one immutable state of a Live ring.
type liveView struct {
	byID    map[string]*token.Key
	primary *token.Key
	ids     []string // verification keys: primary, next, secondaries
	rev     uint64
	doc     *Doc
}

// Set opens the verifying keys of d with mk and swaps them in, recording
// rev (the smd_keys revision of d). On any error (an invalid document, a
// secret that does not open) the ring keeps what it had.
func (l *Live) Set(d *Doc, rev uint64, mk *seal.Key) error {
	if d == nil {
		return errors.New("keyring: no ring document")
	}
	if err := d.Validate(); err != nil {
		return err
	}
	keys, err := d.OpenVerifying(mk)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.cur.Load()
	v := &liveView{byID: make(map[string]*token.Key, len(keys)), rev: rev, doc: d.Clone()}
	for _, ok := range keys {
		k := ok.Key
		if old != nil {
			if prev := old.byID[k.ID]; prev != nil && subtle.ConstantTimeCompare(prev.Secret, k.Secret) == 1 {
				k = prev // same key: keep the pointer verifiers cache by
			}
		}
		v.byID[k.ID] = k
		if ok.Record.State == StatePrimary {
			v.primary = k
		}
	}
	v.ids = orderedIDs(d)
	l.cur.Store(v)
	return nil
}

// orderedIDs lists the verifying keys: primary, next, then secondaries.
func orderedIDs(d *Doc) []string {
	var ids []string
	for _, s := range []State{StatePrimary, StateNext, StateSecondary} {
		for _, r := range d.Keys {
			if r.State == s {
				ids = append(ids, r.ID)
			}
		}
	}
	return ids
}

// Lookup implements [token.KeyRing]: the next, primary or secondary key with
// the id, or nil.
func (l *Live) Lookup(id string) *token.Key {
	v := l.cur.Load()
	if v == nil {
		return nil
	}
	return v.byID[id]
}

// Signing returns the primary key, the one that signs new tokens; an error
// wrapping [ErrNoSigningKey] until a ring is loaded.
func (l *Live) Signing() (*token.Key, error) {
	v := l.cur.Load()
	if v == nil || v.primary == nil {
		return nil, fmt.Errorf("%w: no key ring loaded yet", ErrNoSigningKey)
	}
	return v.primary, nil
}

// KeyIDs returns the ids of the verification keys held (primary, next,
// secondaries), for heartbeats.
func (l *Live) KeyIDs() []string {
	v := l.cur.Load()
	if v == nil {
		return nil
	}
	return slices.Clone(v.ids)
}

// Revision returns the smd_keys revision of the ring held; 0 when none.
func (l *Live) Revision() uint64 {
	if v := l.cur.Load(); v != nil {
		return v.rev
	}
	return 0
}

// Loaded reports whether a ring is held.
func (l *Live) Loaded() bool { return l.cur.Load() != nil }

// Doc returns a copy of the ring document held (secrets sealed), or nil.
func (l *Live) Doc() *Doc {
	if v := l.cur.Load(); v != nil {
		return v.doc.Clone()
	}
	return nil
}

// Interface guard.
var _ token.KeyRing = (*Live)(nil)
