// Package controltest runs the control-plane API for tests of other
// packages (the CLI, end-to-end tests): in-memory sessions, allowlist and
// keys, real embedded NATS for assets and edges, API keys in a temporary
// file, and a loopback HTTP server.
package controltest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smd-media/smd/internal/asset"
	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/control/apikey"
	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
	"github.com/smd-media/smd/token"
)

// The signing key of the in-memory ring.
const (
	KID    = "20260101_aaaaaaaaaaaaaaaaaaaa"
	Secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

// Sessions is an in-memory control.Sessions.
type Sessions struct {
	mu   sync.Mutex
	m    map[string]control.Revocation
	ttls map[string]time.Duration
	// Fail, when set, is returned by Revoke.
	Fail error
}

// NewSessions returns an empty Sessions.
func NewSessions() *Sessions {
	return &Sessions{m: map[string]control.Revocation{}, ttls: map[string]time.Duration{}}
}

// Revoke implements control.Sessions.
func (s *Sessions) Revoke(_ context.Context, e control.Revocation, ttl time.Duration) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Fail != nil {
		return 0, s.Fail
	}
	if ttl > 0 {
		e.ExpiresAt = e.RevokedAt.Add(ttl)
	}
	s.m[e.SessionID] = e
	s.ttls[e.SessionID] = ttl
	return uint64(len(s.m)), nil
}

// TTL returns the ttl the session was last revoked with.
func (s *Sessions) TTL(id string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ttls[id]
}

// SetFail sets Fail under the lock.
func (s *Sessions) SetFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Fail = err
}

// Unrevoke implements control.Sessions.
func (s *Sessions) Unrevoke(_ context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[id]
	delete(s.m, id)
	return ok, nil
}

// Get implements control.Sessions.
func (s *Sessions) Get(_ context.Context, id string) (control.Revocation, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	return e, ok, nil
}

// List implements control.Sessions.
func (s *Sessions) List(_ context.Context, after string, limit int) ([]control.Revocation, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.m {
		if id > after {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	next := ""
	if len(ids) > limit {
		ids, next = ids[:limit], ids[limit-1]
	}
	out := []control.Revocation{}
	for _, id := range ids {
		out = append(out, s.m[id])
	}
	return out, next, nil
}

// Allowlist is an in-memory control.Allowlist.
type Allowlist struct {
	mu sync.Mutex
	m  map[string]control.Allowance
	// Fail, when set, is returned by every method.
	Fail error
}

// NewAllowlist returns an empty Allowlist.
func NewAllowlist() *Allowlist { return &Allowlist{m: map[string]control.Allowance{}} }

// SetFail sets Fail under the lock.
func (l *Allowlist) SetFail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Fail = err
}

// Allow implements control.Allowlist.
func (l *Allowlist) Allow(_ context.Context, a control.Allowance, ttl time.Duration) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Fail != nil {
		return 0, l.Fail
	}
	if ttl > 0 {
		a.ExpiresAt = a.AllowedAt.Add(ttl)
	}
	l.m[a.SessionID] = a
	return uint64(len(l.m)), nil
}

// HoldOff implements control.Allowlist: it keeps an allowance without end
// or lasting longer, as revocation.AllowStore does.
func (l *Allowlist) HoldOff(_ context.Context, id, by string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Fail != nil {
		return false, l.Fail
	}
	now := time.Now().UTC().Truncate(time.Second)
	if cur, ok := l.m[id]; ok && (cur.ExpiresAt.IsZero() || !cur.ExpiresAt.Before(now.Add(ttl))) {
		return false, nil
	}
	l.m[id] = control.Allowance{SessionID: id, Kind: "hold_off", Reason: "automatic revocation lifted", By: by, AllowedAt: now, ExpiresAt: now.Add(ttl)}
	return true, nil
}

// Disallow implements control.Allowlist.
func (l *Allowlist) Disallow(_ context.Context, id string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Fail != nil {
		return false, l.Fail
	}
	_, ok := l.m[id]
	delete(l.m, id)
	return ok, nil
}

// Get implements control.Allowlist.
func (l *Allowlist) Get(_ context.Context, id string) (control.Allowance, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Fail != nil {
		return control.Allowance{}, false, l.Fail
	}
	a, ok := l.m[id]
	return a, ok, nil
}

// List implements control.Allowlist.
func (l *Allowlist) List(_ context.Context, after string, limit int) ([]control.Allowance, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.Fail != nil {
		return nil, "", l.Fail
	}
	var ids []string
	for id := range l.m {
		if id > after {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	next := ""
	if len(ids) > limit {
		ids, next = ids[:limit], ids[limit-1]
	}
	out := []control.Allowance{}
	for _, id := range ids {
		out = append(out, l.m[id])
	}
	return out, next, nil
}

// Keys is an in-memory control.Keys holding KID as primary.
type Keys struct {
	mu      sync.Mutex
	ring    []control.KeyInfo
	signing *token.Key
	rotated int
}

// NewKeys returns a ring of one primary key, KID.
func NewKeys() *Keys {
	return &Keys{
		ring:    []control.KeyInfo{{ID: KID, State: control.KeyPrimary, Secret: Secret}},
		signing: &token.Key{ID: KID, Secret: []byte(Secret)},
	}
}

// List implements control.Keys.
func (k *Keys) List(_ context.Context, withSecrets bool) ([]control.KeyInfo, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := slices.Clone(k.ring)
	if !withSecrets {
		for i := range out {
			out[i].Secret = ""
		}
	}
	return out, nil
}

// Rotate implements control.Keys: it counts requests and answers a fixed
// status.
func (k *Keys) Rotate(context.Context) (control.RotationStatus, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rotated++
	return control.RotationStatus{Phase: "requested", NextKID: "next1", RequestedAt: time.Unix(1767225600, 0).UTC()}, nil
}

// Rotations returns the number of Rotate calls.
func (k *Keys) Rotations() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.rotated
}

// Import implements control.Keys with keyring.Parse.
func (k *Keys) Import(_ context.Context, b []byte) ([]control.KeyInfo, error) {
	r, err := keyring.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", control.ErrInvalidInput, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.ring = nil
	for _, key := range r.Keys() {
		st := control.KeySecondary
		if key == r.Primary() {
			st = control.KeyPrimary
			k.signing = key
		}
		k.ring = append(k.ring, control.KeyInfo{ID: key.ID, State: st, Secret: string(key.Secret)})
	}
	return slices.Clone(k.ring), nil
}

// Signing implements control.Keys.
func (k *Keys) Signing(context.Context) (*token.Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.signing, nil
}

// Env is a running API.
type Env struct {
	// URL is the server's base URL, http://127.0.0.1:<port>.
	URL      string
	Server   *httptest.Server
	API      *control.API
	Sessions *Sessions
	Allowed  *Allowlist
	Keys     *Keys
	Assets   *asset.Store
	Edges    jetstream.KeyValue
	// Tokens of the keys "admin", "issuer" and "reader" (scope read).
	Admin, Issuer, Reader string
	// KeyFile is the API key file.
	KeyFile string
}

// Options adjust Start.
type Options struct {
	// Config changes the configuration before New.
	Config func(*control.Config)
	// Deps changes the dependencies before New.
	Deps func(*control.Deps)
	// Wrap wraps the API's handler in the server.
	Wrap func(http.Handler) http.Handler
}

// Start runs an API on a loopback server, closed at the test's end.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	_, nc := natstest.Single(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := natsstore.Open(ctx, nc, natsstore.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{Sessions: NewSessions(), Allowed: NewAllowlist(), Keys: NewKeys(), Assets: asset.NewStore(st.JS, st.Assets), Edges: st.Edges}
	var ks []apikey.Key
	for _, k := range []struct {
		id, scope string
		dst       *string
	}{{"admin", apikey.ScopeAdmin, &e.Admin}, {"issuer", apikey.ScopeIssuer, &e.Issuer}, {"reader", apikey.ScopeRead, &e.Reader}} {
		key, tok, err := apikey.New(k.id, k.scope)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, key)
		*k.dst = tok
	}
	b, _ := json.Marshal(map[string]any{"keys": ks})
	e.KeyFile = filepath.Join(t.TempDir(), "api-keys.json")
	if err := os.WriteFile(e.KeyFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := control.Config{APIKeysFile: e.KeyFile}
	if o.Config != nil {
		o.Config(&cfg)
	}
	deps := control.Deps{Assets: e.Assets, Sessions: e.Sessions, Allowlist: e.Allowed, Keys: e.Keys, Edges: st.Edges}
	if o.Deps != nil {
		o.Deps(&deps)
	}
	if e.API, err = control.New(cfg, deps); err != nil {
		t.Fatal(err)
	}
	var h http.Handler = e.API
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	e.Server = httptest.NewServer(h)
	e.URL = e.Server.URL
	t.Cleanup(e.Server.Close)
	return e
}
