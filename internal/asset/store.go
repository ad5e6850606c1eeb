package asset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/kvread"
)

// Errors of the Store that callers branch on.
var (
	// ErrNotFound: no asset with that id.
	ErrNotFound = errors.New("asset not found")
	// ErrExists: Create with an id already in use.
	ErrExists = errors.New("asset exists")
	// ErrConflict: the asset changed since the revision the write was
	// based on.
	ErrConflict = errors.New("asset changed meanwhile")
)

// Paging limits of Store.List.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// Store keeps assets in a KV bucket (natsstore.Store.Assets). It is safe
// for concurrent use.
type Store struct {
	nc *nats.Conn
	kv jetstream.KeyValue
	// Now is the clock of UpdatedAt; time.Now by default.
	Now func() time.Time
}

// NewStore returns a store on the bucket kv of js. Reads go to the
// bucket's leader (kvread), so that the token API finds an asset created
// or changed just before, on a cluster too.
func NewStore(js jetstream.JetStream, kv jetstream.KeyValue) *Store {
	return &Store{nc: js.Conn(), kv: kv, Now: time.Now}
}

// encode validates a and returns its stored form.
func (s *Store) encode(a *Asset) ([]byte, *Asset, error) {
	if err := a.Validate(); err != nil {
		return nil, nil, err
	}
	c := *a
	c.Revision = 0
	c.UpdatedAt = s.Now().UTC().Round(0).Truncate(time.Millisecond)
	c.normalize()
	b, err := json.Marshal(&c)
	if err != nil {
		return nil, nil, fmt.Errorf("asset %s: %w", a.ID, err)
	}
	return b, &c, nil
}

// Get returns the asset id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*Asset, error) {
	if !ValidID(id) {
		return nil, errID
	}
	e, err := kvread.Get(ctx, s.nc, s.kv.Bucket(), id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("asset %s: %w", id, err)
	}
	var a Asset
	if err := json.Unmarshal(e.Value, &a); err != nil {
		return nil, fmt.Errorf("asset %s: stored value: %w", id, err)
	}
	a.ID, a.Revision = id, e.Revision
	a.normalize()
	return &a, nil
}

// Create stores a new asset; ErrExists when the id is taken.
func (s *Store) Create(ctx context.Context, a *Asset) (*Asset, error) {
	b, c, err := s.encode(a)
	if err != nil {
		return nil, err
	}
	rev, err := s.kv.Create(ctx, a.ID, b)
	if errors.Is(err, jetstream.ErrKeyExists) {
		return nil, ErrExists
	}
	if err != nil {
		return nil, fmt.Errorf("asset %s: %w", a.ID, err)
	}
	c.Revision = rev
	return c, nil
}

// Update replaces an existing asset. With a.Revision set, it replaces
// only that revision (ErrConflict otherwise); without, the current one.
// ErrNotFound when there is none.
func (s *Store) Update(ctx context.Context, a *Asset) (*Asset, error) {
	b, c, err := s.encode(a)
	if err != nil {
		return nil, err
	}
	rev := a.Revision
	if rev == 0 {
		cur, err := s.Get(ctx, a.ID)
		if err != nil {
			return nil, err
		}
		rev = cur.Revision
	}
	rev, err = s.kv.Update(ctx, a.ID, b, rev)
	if err != nil {
		if _, gerr := s.Get(ctx, a.ID); errors.Is(gerr, ErrNotFound) {
			return nil, ErrNotFound
		}
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return nil, ErrConflict
		}
		return nil, fmt.Errorf("asset %s: %w", a.ID, err)
	}
	c.Revision = rev
	return c, nil
}

// Put creates or replaces an asset (imports use it).
func (s *Store) Put(ctx context.Context, a *Asset) (*Asset, error) {
	b, c, err := s.encode(a)
	if err != nil {
		return nil, err
	}
	rev, err := s.kv.Put(ctx, a.ID, b)
	if err != nil {
		return nil, fmt.Errorf("asset %s: %w", a.ID, err)
	}
	c.Revision = rev
	return c, nil
}

// Delete removes an asset; ErrNotFound when there is none.
func (s *Store) Delete(ctx context.Context, id string) error {
	cur, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	err = s.kv.Delete(ctx, id, jetstream.LastRevision(cur.Revision))
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return ErrConflict
	}
	if err != nil {
		return fmt.Errorf("asset %s: %w", id, err)
	}
	return nil
}

// List returns up to limit assets with ids greater than after ("" for
// the first page), in id order, and the cursor of the next page ("" on
// the last). limit 0 means DefaultListLimit; at most MaxListLimit. It
// reads every key of the bucket, which is fine for a catalog of
// thousands of titles.
func (s *Store) List(ctx context.Context, after string, limit int) ([]*Asset, string, error) {
	switch {
	case limit == 0:
		limit = DefaultListLimit
	case limit < 0 || limit > MaxListLimit:
		return nil, "", &FieldError{"limit", fmt.Sprintf("must be 1-%d", MaxListLimit)}
	}
	if after != "" && !ValidID(after) {
		return nil, "", &FieldError{"after", "must be an asset id (1-200 letters, digits or '_')"}
	}
	lister, err := s.kv.ListKeys(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("assets: list: %w", err)
	}
	var ids []string
	for k := range lister.Keys() {
		if k > after {
			ids = append(ids, k)
		}
	}
	slices.Sort(ids)
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
	}
	out := make([]*Asset, 0, len(ids))
	for _, id := range ids {
		a, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, "", err
		}
		out = append(out, a)
	}
	return out, next, nil
}
