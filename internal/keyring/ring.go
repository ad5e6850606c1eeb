package keyring

import (
	"errors"
	"fmt"
	"strings"

	"github.com/smd-media/smd/token"
)

// ErrNoSigningKey is returned by [Ring.Signing] when the ring cannot tell
// which key signs: a map of several keys and no key id given.
var ErrNoSigningKey = errors.New("no signing key")

// Ring is the set of keys read from one key file. It is immutable and safe
// for concurrent use.
type Ring struct {
	format  Format
	keys    []*token.Key // in file order
	byID    map[string]*token.Key
	primary *token.Key // nil when the file does not say
}

// Lookup implements [token.KeyRing]: it returns the key with the id, the
// same *token.Key on every call, or nil.
func (r *Ring) Lookup(id string) *token.Key { return r.byID[id] }

// Format tells which form the key file was written in.
func (r *Ring) Format() Format { return r.format }

// Len returns the number of keys.
func (r *Ring) Len() int { return len(r.keys) }

// Keys returns the keys in file order (SMDE: primary, then secondary). The
// slice is a copy; the keys are shared and must not be modified.
func (r *Ring) Keys() []*token.Key { return append([]*token.Key(nil), r.keys...) }

// IDs returns the key ids in file order.
func (r *Ring) IDs() []string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.ID
	}
	return ids
}

// Primary returns the key that signs by default: SMDE's "primary", or the
// only key of a map. It is nil for a map of several keys.
func (r *Ring) Primary() *token.Key { return r.primary }

// Signing returns the key to sign with. A non-empty kid names it; an empty
// kid means [Ring.Primary], and is an error wrapping [ErrNoSigningKey] when
// the file holds several keys and names no primary.
func (r *Ring) Signing(kid string) (*token.Key, error) {
	if kid != "" {
		if k := r.byID[kid]; k != nil {
			return k, nil
		}
		return nil, fmt.Errorf("no key with kid %s in the key file (it has %s)", shownKID(kid), r.idList())
	}
	if r.primary == nil {
		return nil, fmt.Errorf("%w: the key file has %d keys and no primary; name one by its kid (%s)",
			ErrNoSigningKey, len(r.keys), r.idList())
	}
	return r.primary, nil
}

// idList returns the key ids for messages: "a, b".
func (r *Ring) idList() string {
	names := make([]string, len(r.keys))
	for i, k := range r.keys {
		names[i] = shownKID(k.ID)
	}
	return strings.Join(names, ", ")
}

// Interface guard.
var _ token.KeyRing = (*Ring)(nil)
