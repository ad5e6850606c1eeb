package rotation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/fleet"
	"github.com/smd-media/smd/internal/keyring"
	"github.com/smd-media/smd/internal/natsstore"
	"github.com/smd-media/smd/internal/natsstore/natstest"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// promotions records, at each promotion, which edges lacked the key.
type promotions struct {
	mu      sync.Mutex
	n       int
	lacking []string
}

func (p *promotions) hook(edges ...*edge) func(string) {
	return func(kid string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.n++
		for _, e := range edges {
			if e.w.Lookup(kid) == nil {
				p.lacking = append(p.lacking, fmt.Sprintf("promotion %d: %s lacks %s", p.n, e.id, kid))
			}
		}
	}
}

func (p *promotions) check(t *testing.T, want int) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n != want {
		t.Errorf("%d promotions, want %d", p.n, want)
	}
	for _, l := range p.lacking {
		t.Errorf("an edge lacked the signing key: %s", l)
	}
}

// TestRotationNoEdgeLacksTheKey: on request and on schedule, the next key
// is promoted only once every live edge holds it; a slow edge holds the
// rotation back; old keys are retired after the token lifetime.
func TestRotationNoEdgeLacksTheKey(t *testing.T) {
	_, nc := natstest.Single(t)
	s := openStore(t, nc, natsstore.Limits{LeaseTTL: 2 * time.Second})
	mk := masterKey(t)
	c := newClock(t0)
	e1 := newEdge(t, "e1", s, mk)
	e2 := newEdge(t, "e2", s, mk) // its watcher starts late
	e1.run()
	var p promotions
	r := newRotator(t, s, mk, c, nil, "a")
	r.cfg.BeforePromote = p.hook(e1, e2)
	runRotator(t, r)
	waitFor(t, "a to lead", 30*time.Second, r.Leading)
	// A second control plane runs beside it and never acts.
	r2 := newRotator(t, s, mk, c, nil, "b")
	r2.cfg.BeforePromote = p.hook(e1, e2)
	runRotator(t, r2)

	waitFor(t, "the ring", 30*time.Second, func() bool { return status(t, r).Primary != "" })
	k0 := status(t, r).Primary
	waitFor(t, "e1 to hold the primary", 30*time.Second, func() bool { return e1.w.Lookup(k0) != nil })
	// A token of k0, verified (and so cached) by e1's ring now, must be
	// refused once k0 retires, cached or not.
	k0Token := signWith(t, e1.w.Lookup(k0))
	cached := smde.NewVerifier(smde.Options{})
	if _, err := cached.Verify(k0Token, e1.w); err != nil {
		t.Fatalf("a token of the primary: %v", err)
	}
	if !r.Leading() || value(r.m.leader) != 1 {
		t.Fatal("the only rotator does not lead")
	}

	ctx := context.Background()
	st, err := r.RequestRotation(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if st.RequestedBy != "test" && st.Phase != keyring.PhaseDistributing {
		t.Fatalf("status after the request: %+v", st)
	}
	waitFor(t, "a next key", 30*time.Second, func() bool { return status(t, r).Next != "" })
	k1 := status(t, r).Next
	if st := status(t, r); st.Reason != reasonRequest || st.Phase != keyring.PhaseDistributing {
		t.Fatalf("status %+v", st)
	}
	// A second request during the rotation records nothing.
	if st, err := r.RequestRotation(ctx, "again"); err != nil || !st.Requested.IsZero() || st.Next != k1 {
		t.Fatalf("request during a rotation: %+v %v", st, err)
	}
	// e1 loads it; e2 (live, its watcher not running) does not: the leader
	// sees e2 lacking it and waits.
	waitFor(t, "e1 to hold the next key", 30*time.Second, func() bool { return e1.w.Lookup(k1) != nil })
	waitFor(t, "the leader to see e2 lacking", 30*time.Second, func() bool {
		return value(r.m.lacking) == 1 && value(r.m.phase.WithLabelValues("distributing")) == 1
	})
	if st := status(t, r); st.Phase != keyring.PhaseDistributing || st.Primary != k0 {
		t.Fatalf("promoted while e2 lacked the key: %+v", st)
	}
	e2.run()
	waitFor(t, "the promotion", 30*time.Second, func() bool { st := status(t, r); return st.Primary == k1 && st.Phase == keyring.PhaseIdle })
	p.check(t, 1)
	if st := status(t, r); st.LastResult != resultOK || st.Completed != 1 || len(st.LastLacking) != 0 {
		t.Fatalf("status %+v", st)
	}
	if count(r, resultOK) != 1 || count(r, resultGraceTimeout) != 0 {
		t.Fatal("rotation metrics")
	}

	// On schedule: a week later the next rotation runs by itself, and the
	// first key, a secondary for longer than the token lifetime, retires.
	c.Advance(DefaultInterval)
	waitFor(t, "the scheduled rotation", 30*time.Second, func() bool { st := status(t, r); return st.Completed == 2 && st.Phase == keyring.PhaseIdle })
	st = status(t, r)
	k2 := st.Primary
	if k2 == k1 || k2 == k0 || st.Reason != reasonSchedule {
		t.Fatalf("status %+v", st)
	}
	p.check(t, 2)
	states := map[string]keyring.State{}
	for _, k := range st.Keys {
		states[k.ID] = k.State
		if k.Secret != "" {
			t.Fatal("secret in the status")
		}
	}
	if states[k0] != keyring.StateRetired || states[k1] != keyring.StateSecondary || states[k2] != keyring.StatePrimary {
		t.Fatalf("states %v", states)
	}
	for _, e := range []*edge{e1, e2} {
		waitFor(t, e.id+" to drop the retired key", 30*time.Second, func() bool { return e.w.Lookup(k0) == nil })
		if e.w.Lookup(k1) == nil || e.w.Lookup(k2) == nil {
			t.Fatalf("%s holds %v", e.id, e.w.KeyIDs())
		}
		for name, v := range map[string]*smde.Verifier{"cached": cached, "fresh": smde.NewVerifier(smde.Options{})} {
			if _, err := v.Verify(k0Token, e.w); token.ReasonOf(err) != token.ReasonUnknownKID {
				t.Fatalf("%s: a token of the retired key, %s verifier: %v, want unknown_kid", e.id, name, err)
			}
		}
	}
	if r2.Leading() || count(r2, resultOK) != 0 || len(st.Keys) != 3 || st.Leader != "a" {
		t.Fatalf("the second control plane acted: %v %v, %d keys, leader %q", r2.Leading(), count(r2, resultOK), len(st.Keys), st.Leader)
	}
	waitFor(t, "b's metrics to follow the ring", 30*time.Second, func() bool {
		return value(r2.m.phase.WithLabelValues("idle")) == 1 && value(r2.m.verifyingNo) == 2
	})
	if age := value(r.m.primaryAge); age != 0 {
		t.Fatalf("primary age %v on a clock that stood still since the promotion", age)
	}
}

// TestGraceTimeout: an edge that stays live but never loads the next key
// holds the rotation until the grace time, which then promotes and says so
// at error level, naming the edge.
func TestGraceTimeout(t *testing.T) {
	_, nc := natstest.Single(t)
	s := openStore(t, nc, natsstore.Limits{})
	mk := masterKey(t)
	c := newClock(t0)
	var logs logBuf
	r := newRotator(t, s, mk, c, logs.logger(), "a")
	e1 := newEdge(t, "e1", s, mk)
	e1.run()
	ctx := context.Background()
	d, err := r.EnsureRing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The stuck edge: one heartbeat with the current key, never updated.
	if err := fleet.Publish(ctx, s.Edges, &fleet.Heartbeat{EdgeID: "stuck-edge", KeyIDs: []string{d.Primary().ID}}); err != nil {
		t.Fatal(err)
	}
	runRotator(t, r)
	if _, err := r.RequestRotation(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a next key", 30*time.Second, func() bool { return status(t, r).Next != "" })
	next := status(t, r).Next
	waitFor(t, "e1 to hold it", 30*time.Second, func() bool { return e1.w.Lookup(next) != nil })
	waitFor(t, "the leader to see only the stuck edge lacking", 30*time.Second, func() bool {
		return value(r.m.lacking) == 1
	})
	if st := status(t, r); st.Phase != keyring.PhaseDistributing {
		t.Fatalf("promoted before the grace time: %+v", st)
	}
	if strings.Contains(logs.String(), "grace time over") {
		t.Fatal("grace timeout logged early")
	}
	c.Advance(DefaultGrace)
	waitFor(t, "the promotion", 30*time.Second, func() bool { return status(t, r).Primary == next })
	st := status(t, r)
	if st.LastResult != resultGraceTimeout || !slices.Equal(st.LastLacking, []string{"stuck-edge"}) {
		t.Fatalf("status %+v", st)
	}
	if count(r, resultGraceTimeout) != 1 || count(r, resultOK) != 0 {
		t.Fatal("metrics")
	}
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "grace time over") {
			line = l
		}
	}
	// Only the stuck edge is named, not e1 (which holds the key). Matched
	// as the whole attribute: the random key id can contain "e1".
	if !strings.Contains(line, "level=ERROR") || !strings.Contains(line, " edges=[stuck-edge] ") {
		t.Fatalf("grace timeout log line: %q", line)
	}
}

// TestLeaderDiesMidRotation: a leader that loses its connection while
// distributing leaves the rotation in the ring; another control plane takes
// the lease after its TTL and completes that same rotation.
func TestLeaderDiesMidRotation(t *testing.T) {
	srv, nc := natstest.Single(t)
	limits := natsstore.Limits{LeaseTTL: 2 * time.Second}
	s := openStore(t, nc, limits)
	mk := masterKey(t)
	c := newClock(t0)
	ctx := context.Background()

	ncA, err := natsstore.ConnectEmbedded(srv, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer ncA.Close()
	ra := newRotator(t, openStore(t, ncA, limits), mk, c, nil, "a")
	d, err := ra.EnsureRing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	k0 := d.Primary().ID
	// A real edge follows the ring throughout: no leader may promote a
	// key it lacks.
	e1 := newEdge(t, "e1", s, mk)
	e1.run()
	defer e1.stop()
	var p promotions
	ra.cfg.BeforePromote = p.hook(e1)
	slow := &fleet.Heartbeat{EdgeID: "slow", KeyIDs: []string{k0}}
	if err := fleet.Publish(ctx, s.Edges, slow); err != nil {
		t.Fatal(err)
	}
	runRotator(t, ra)
	if _, err := ra.RequestRotation(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a next key", 30*time.Second, func() bool { return status(t, ra).Next != "" })
	next := status(t, ra).Next
	waitFor(t, "a to see the slow edge", 30*time.Second, func() bool { return value(ra.m.lacking) == 1 })

	// a dies: its connection is gone, its lease is not released.
	ncA.Close()
	waitFor(t, "a to step down", 30*time.Second, func() bool { return !ra.Leading() })
	slow.KeyIDs = []string{k0, next}
	if err := fleet.Publish(ctx, s.Edges, slow); err != nil {
		t.Fatal(err)
	}
	rb := newRotator(t, s, mk, c, nil, "b")
	rb.cfg.BeforePromote = p.hook(e1)
	runRotator(t, rb)
	waitFor(t, "b to complete the rotation", 30*time.Second, func() bool { return status(t, rb).Primary == next })
	p.check(t, 1)
	if e1.w.Lookup(next) == nil {
		t.Fatal("the edge lacks the new primary")
	}
	st := status(t, rb)
	if st.Completed != 1 || len(st.Keys) != 2 || st.LastResult != resultOK {
		t.Fatalf("status after b: %+v", st)
	}
	if count(rb, resultOK) != 1 || count(ra, resultOK) != 0 {
		t.Fatal("b did not complete it, or a did")
	}
	if st.Leader != "b" {
		t.Fatalf("leader %q", st.Leader)
	}
}

// TestRetireAfterMaxTokenLifetime drives the leader's steps by hand on the
// injected clock: schedule and retirement happen exactly at their times.
func TestRetireAfterMaxTokenLifetime(t *testing.T) {
	_, nc := natstest.Single(t)
	s := openStore(t, nc, natsstore.Limits{})
	mk := masterKey(t)
	c := newClock(t0)
	r := newRotator(t, s, mk, c, nil, "a")
	ctx := context.Background()
	step := func() *keyring.Doc {
		t.Helper()
		if err := r.step(ctx); err != nil {
			t.Fatal(err)
		}
		d, _, err := keyring.GetDoc(ctx, s.Keys)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	d := step() // creates the ring
	k0 := d.Primary().ID
	if d.Rotation.Phase != keyring.PhaseIdle || len(d.Keys) != 1 {
		t.Fatalf("first ring %+v", d)
	}
	// One nanosecond before the interval: nothing; at it: a rotation.
	c.Set(t0.Add(DefaultInterval - 1))
	if d = step(); d.Rotation.Phase != keyring.PhaseIdle {
		t.Fatal("rotation started early")
	}
	c.Set(t0.Add(DefaultInterval))
	if d = step(); d.Rotation.Phase != keyring.PhaseDistributing || d.Rotation.Reason != reasonSchedule {
		t.Fatalf("no scheduled rotation: %+v", d.Rotation)
	}
	d = step() // no live edges: promoted at once
	k1 := d.Primary().ID
	promoted := c.Now()
	old := d.Find(k0)
	if k1 == k0 || old.State != keyring.StateSecondary || !old.Demoted.Equal(promoted) ||
		!old.RetireAfter.Equal(promoted.Add(DefaultMaxTokenLifetime+DefaultClockSkew)) {
		t.Fatalf("after promotion: %+v", old)
	}
	c.Set(old.RetireAfter.Add(-1))
	if d = step(); d.Find(k0).State != keyring.StateSecondary {
		t.Fatal("retired before the max token lifetime")
	}
	c.Set(old.RetireAfter)
	d = step()
	if r0 := d.Find(k0); r0.State != keyring.StateRetired || r0.Secret != "" || !r0.Retired.Equal(old.RetireAfter) {
		t.Fatalf("not retired: %+v", r0)
	}
	// List: no secrets unless asked; the retired key has none to show.
	infos, err := r.List(ctx, ListOptions{})
	if err != nil || len(infos) != 2 || infos[0].Secret != "" {
		t.Fatalf("list: %+v %v", infos, err)
	}
	infos, err = r.List(ctx, ListOptions{ShowSecrets: true})
	if err != nil || infos[0].State != keyring.StatePrimary || len(infos[0].Secret) != 128 || infos[1].Secret != "" {
		t.Fatalf("list with secrets: %v", err)
	}
}

// TestImportIntoRing: an SMDE export imported into a running ring goes
// through a rotation like any next key.
func TestImportIntoRing(t *testing.T) {
	_, nc := natstest.Single(t)
	s := openStore(t, nc, natsstore.Limits{})
	mk := masterKey(t)
	c := newClock(t0)
	r := newRotator(t, s, mk, c, nil, "a")
	ctx := context.Background()
	secret := strings.Repeat("ab", 64)
	file, err := keyring.Parse([]byte(`{"primary": {"uuid": "20260501_smde", "value": "` + secret + `"}}`))
	if err != nil {
		t.Fatal(err)
	}
	// Into no ring: the file's primary signs.
	res, err := r.Import(ctx, file)
	if err != nil || res.Added["20260501_smde"] != keyring.StatePrimary || res.Rotating {
		t.Fatalf("import into no ring: %+v %v", res, err)
	}
	if _, err := r.Import(ctx, file); err != nil {
		t.Fatalf("repeated import: %v", err)
	}
	// Into a ring: next, then promoted by the leader.
	if _, err := r.RequestRotation(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := r.step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	file2, _ := keyring.Parse([]byte(`{"primary": {"uuid": "20260502_smde", "value": "` + strings.Repeat("cd", 64) + `"}}`))
	res, err = r.Import(ctx, file2)
	if err != nil || !res.Rotating {
		t.Fatalf("import into a ring: %+v %v", res, err)
	}
	if err := r.step(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := r.Status(ctx)
	if err != nil || st.Primary != "20260502_smde" || st.Reason != "import" {
		t.Fatalf("status %+v %v", st, err)
	}
	if _, err := r.Import(ctx, file); err != nil {
		t.Fatalf("import of a key now secondary: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	_, nc := natstest.Single(t)
	s := openStore(t, nc, natsstore.Limits{})
	mk := masterKey(t)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no bucket", Config{MasterKey: mk}, "no smd_keys bucket"},
		{"no master key", Config{Keys: s.Keys}, "no master key"},
		{"negative grace", Config{Keys: s.Keys, MasterKey: mk, Grace: -1}, "grace is negative"},
		{"negative skew", Config{Keys: s.Keys, MasterKey: mk, ClockSkew: -1}, "clock skew is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	r, err := New(Config{Keys: s.Keys, MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(context.Background()); err == nil {
		t.Fatal("Run without edges and leases")
	}
	if _, err := r.Status(context.Background()); !errors.Is(err, keyring.ErrNoRing) {
		t.Fatalf("status of no ring: %v", err)
	}
	if _, err := r.RequestRotation(context.Background(), "x"); !errors.Is(err, keyring.ErrNoRing) {
		t.Fatalf("request without a ring: %v", err)
	}
}

func TestLiveEdges(t *testing.T) {
	_, nc := natstest.Single(t)
	s := openStore(t, nc, natsstore.Limits{})
	ctx := context.Background()
	if hs, err := liveEdges(ctx, s.Edges); err != nil || len(hs) != 0 {
		t.Fatalf("empty bucket: %v %v", hs, err)
	}
	for _, h := range []*fleet.Heartbeat{
		{EdgeID: "e1", KeyIDs: []string{"k1", "k2"}},
		{EdgeID: "e2", KeyIDs: []string{"k1"}},
		{EdgeID: "e3"},
	} {
		if err := fleet.Publish(ctx, s.Edges, h); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Edges.Put(ctx, "garbled", []byte("{")); err != nil {
		t.Fatal(err)
	}
	if err := s.Edges.Delete(ctx, "e3"); err != nil {
		t.Fatal(err)
	}
	hs, err := liveEdges(ctx, s.Edges)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hs {
		got = append(got, fmt.Sprintf("%s:%v", h.EdgeID, h.HasKey("k2")))
	}
	if strings.Join(got, " ") != "e1:true e2:false garbled:false" {
		t.Fatalf("edges %v", got)
	}
	// A listing cut short is an error, never a shorter list.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if hs, err := liveEdges(cctx, s.Edges); err == nil {
		t.Fatalf("cancelled listing returned %v", hs)
	}
	// Edges seen lacking earlier and missing from a listing are read again.
	earlier := map[string]bool{"e1": true, "e2": true, "e3": true}
	missed, err := stillLacking(ctx, s.Edges, "k2", earlier, nil)
	if err != nil || !slices.Equal(missed, []string{"e2"}) {
		t.Fatalf("still lacking: %v %v", missed, err)
	}
	if missed, _ := stillLacking(ctx, s.Edges, "k2", earlier, hs); len(missed) != 0 {
		t.Fatalf("listed edges read again: %v", missed)
	}
}

// signWith signs a token of key for /vod/, as a request for a segment.
func signWith(t *testing.T, key *token.Key) *token.Request {
	t.Helper()
	s := &smde.Signer{Key: key}
	tok, err := s.Sign(&smde.Policy{Paths: []string{"/vod/"}, Expiry: "+1h"}, &smde.Viewer{})
	if err != nil {
		t.Fatal(err)
	}
	return &token.Request{Method: "GET", Target: "/" + tok.Token + "/vod/a.ts", Header: http.Header{}, Now: time.Now()}
}
