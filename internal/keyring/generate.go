package keyring

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/smd-media/smd/internal/seal"
	"github.com/smd-media/smd/token"
)

// GeneratedSecretLen is the length of a generated secret: 128 hex digits,
// as SMDE makes them, used as their UTF-8 bytes (not hex-decoded).
const GeneratedSecretLen = 128

// NewKID returns a key id in SMDE's form: the UTC date and 20 random hex
// digits, "20261122_24ce46a88109c9f79d37".
func NewKID(now time.Time) string {
	b := make([]byte, 10)
	rand.Read(b) // never fails (Go 1.24+)
	return now.UTC().Format("20060102") + "_" + hex.EncodeToString(b)
}

// NewSecret returns a secret as SMDE makes them: 64 random bytes written
// as 128 lower-case hex digits.
func NewSecret() string {
	b := make([]byte, GeneratedSecretLen/2)
	rand.Read(b) // never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// secretAD is the associated data that binds a sealed secret to its key id:
// a secret sealed for one record does not open as another's.
func secretAD(kid string) []byte { return []byte("smd keyring secret kid=" + kid) }

// SealSecret seals a key's secret for its record.
func SealSecret(mk *seal.Key, kid string, secret []byte) string {
	return mk.Seal(secret, secretAD(kid))
}

// OpenSecret opens a record's sealed secret.
func OpenSecret(mk *seal.Key, r *Record) ([]byte, error) {
	if r.Secret == "" {
		return nil, fmt.Errorf("key %s (%s) has no secret", shownKID(r.ID), r.State)
	}
	b, err := mk.Open(r.Secret, secretAD(r.ID))
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", shownKID(r.ID), err)
	}
	if len(b) < MinSecretLen {
		return nil, fmt.Errorf("key %s: secret is %d bytes long, at least %d are needed", shownKID(r.ID), len(b), MinSecretLen)
	}
	return b, nil
}

// NewRecord generates a key in the given state, its id unused in d (d may
// be nil), its secret sealed with mk.
func NewRecord(d *Doc, mk *seal.Key, state State, now time.Time) Record {
	kid := NewKID(now)
	for d != nil && d.Find(kid) != nil { // 80 random bits: never in practice
		kid = NewKID(now)
	}
	return Record{
		ID: kid, Alg: AlgHS256, State: state, Source: SourceGenerated,
		Secret: SealSecret(mk, kid, []byte(NewSecret())), Created: now.UTC(),
	}
}

// NewDoc returns a ring with one generated primary key.
func NewDoc(mk *seal.Key, now time.Time) *Doc {
	r := NewRecord(nil, mk, StatePrimary, now)
	r.Promoted = now.UTC()
	return &Doc{Version: DocVersion, Keys: []Record{r}, Rotation: Rotation{Phase: PhaseIdle}, Updated: now.UTC()}
}

// OpenKey is a record with its secret opened.
type OpenKey struct {
	Record Record
	Key    *token.Key
}

// OpenVerifying opens the secrets of the keys that verify (next, primary,
// secondary). It fails as a whole if any of them does not open: a ring is
// used entirely or not at all.
func (d *Doc) OpenVerifying(mk *seal.Key) ([]OpenKey, error) {
	var out []OpenKey
	for _, r := range d.Keys {
		if !r.State.Verifies() {
			continue
		}
		secret, err := OpenSecret(mk, &r)
		if err != nil {
			return nil, err
		}
		out = append(out, OpenKey{Record: r, Key: &token.Key{ID: r.ID, Secret: secret}})
	}
	return out, nil
}
