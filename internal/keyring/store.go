package keyring

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// EntryKey is the key of the ring document in the smd_keys bucket.
const EntryKey = "ring"

// ErrNoRing is returned by [GetDoc] when the bucket holds no ring document.
var ErrNoRing = errors.New("keyring: no ring in the smd_keys bucket")

// maxCASAttempts bounds the retries of [UpdateDoc] on write conflicts.
const maxCASAttempts = 16

// GetDoc reads the ring document and its revision from the smd_keys
// bucket; [ErrNoRing] when there is none (never written, or deleted).
func GetDoc(ctx context.Context, kv jetstream.KeyValue) (*Doc, uint64, error) {
	e, err := kv.Get(ctx, EntryKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, 0, ErrNoRing
	}
	if err != nil {
		return nil, 0, fmt.Errorf("keyring: read %s: %w", kv.Bucket(), err)
	}
	d, err := DecodeDoc(e.Value())
	if err != nil {
		return nil, e.Revision(), fmt.Errorf("keyring: revision %d: %w", e.Revision(), err)
	}
	return d, e.Revision(), nil
}

// UpdateDoc changes the ring document with compare-and-set: it reads the
// document (nil when there is none), calls fn with a copy, and writes what
// fn returns on the condition that nobody wrote in between, or starts over.
// fn returns nil to leave the document as it is; it may run several times
// and must not have side effects beyond the document. UpdateDoc returns the
// document in force and its revision.
func UpdateDoc(ctx context.Context, kv jetstream.KeyValue, now func() time.Time, fn func(cur *Doc) (*Doc, error)) (*Doc, uint64, error) {
	for range maxCASAttempts {
		cur, rev, err := GetDoc(ctx, kv)
		if err != nil && !errors.Is(err, ErrNoRing) {
			return nil, 0, err
		}
		var arg *Doc
		if cur != nil {
			arg = cur.Clone()
		}
		next, err := fn(arg)
		if err != nil {
			return nil, 0, err
		}
		if next == nil {
			if cur == nil {
				return nil, 0, ErrNoRing
			}
			return cur, rev, nil
		}
		next.Updated = now().UTC()
		b, err := next.Encode()
		if err != nil {
			return nil, 0, fmt.Errorf("keyring: refusing to write an invalid ring: %w", err)
		}
		var nrev uint64
		if cur == nil {
			nrev, err = kv.Create(ctx, EntryKey, b)
		} else {
			nrev, err = kv.Update(ctx, EntryKey, b, rev)
		}
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue // someone wrote meanwhile: read again
		}
		if err != nil {
			return nil, 0, fmt.Errorf("keyring: write %s: %w", kv.Bucket(), err)
		}
		return next, nrev, nil
	}
	return nil, 0, fmt.Errorf("keyring: ring document still changing after %d attempts", maxCASAttempts)
}
