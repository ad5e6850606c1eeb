package keyring

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/seal"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func masterKey(t testing.TB) *seal.Key {
	t.Helper()
	k, _, err := seal.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rotated returns a ring of a primary, a next key and a secondary.
func rotated(t testing.TB, mk *seal.Key) *Doc {
	t.Helper()
	d := NewDoc(mk, t0)
	d.Keys[0].State, d.Keys[0].Demoted, d.Keys[0].RetireAfter = StateSecondary, t0, t0.Add(time.Hour)
	p := NewRecord(d, mk, StatePrimary, t0)
	p.Promoted = t0
	d.Keys = append(d.Keys, p)
	n := NewRecord(d, mk, StateNext, t0)
	d.Keys = append(d.Keys, n)
	d.Rotation = Rotation{Phase: PhaseDistributing, Next: n.ID, Started: t0, Deadline: t0.Add(time.Minute)}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGenerated(t *testing.T) {
	kid := NewKID(t0)
	if !regexp.MustCompile(`^20260501_[0-9a-f]{20}$`).MatchString(kid) {
		t.Fatalf("kid %q", kid)
	}
	s := NewSecret()
	if !regexp.MustCompile(`^[0-9a-f]{128}$`).MatchString(s) || s == NewSecret() {
		t.Fatalf("secret of %d characters", len(s))
	}
	mk := masterKey(t)
	d := NewDoc(mk, t0)
	b, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// The stored form holds the secret only sealed.
	keys, err := d.OpenVerifying(mk)
	if err != nil || len(keys) != 1 {
		t.Fatalf("open: %v", err)
	}
	if strings.Contains(string(b), string(keys[0].Key.Secret)) {
		t.Fatal("plain secret in the stored document")
	}
	if len(keys[0].Key.Secret) != 128 {
		t.Fatalf("secret used as %d bytes, want its 128 characters", len(keys[0].Key.Secret))
	}
}

func TestValidate(t *testing.T) {
	mk := masterKey(t)
	tests := []struct {
		name   string
		change func(d *Doc)
		want   string
	}{
		{"valid", func(d *Doc) {}, ""},
		{"version", func(d *Doc) { d.Version = 2 }, "version 2, this smd reads version 1"},
		{"no primary", func(d *Doc) { d.Keys[1].State = StateSecondary; d.Keys[1].RetireAfter = t0 }, "0 primary keys, want exactly 1"},
		{"two primaries", func(d *Doc) { d.Keys[0].State = StatePrimary }, "2 primary keys"},
		{"bad state", func(d *Doc) { d.Keys[0].State = "old" }, `keys[0].state: "old"`},
		{"bad alg", func(d *Doc) { d.Keys[0].Alg = "none" }, `keys[0].alg: "none", want "HS256"`},
		{"bad kid", func(d *Doc) { d.Keys[0].ID = "a b" }, "keys[0].id: kid"},
		{"duplicate kid", func(d *Doc) { d.Keys[0].ID = d.Keys[1].ID }, "duplicate kid"},
		{"missing secret", func(d *Doc) { d.Keys[0].Secret = "" }, "keys[0].secret: missing for the secondary key"},
		{"retired without secret", func(d *Doc) { d.Keys[0].State = StateRetired; d.Keys[0].Secret = "" }, ""},
		{"missing created", func(d *Doc) { d.Keys[2].Created = time.Time{} }, "keys[2].created: missing"},
		{"idle with next", func(d *Doc) { d.Rotation.Phase = PhaseIdle }, "phase is idle but key"},
		{"distributing other key", func(d *Doc) { d.Rotation.Next = "other" }, `distributing "other" but the ring has 1 next keys`},
		{"no deadline", func(d *Doc) { d.Rotation.Deadline = time.Time{} }, "deadline missing"},
		{"bad phase", func(d *Doc) { d.Rotation.Phase = "promoting" }, `rotation.phase "promoting"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := rotated(t, mk)
			tt.change(d)
			err := d.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDecodeDoc(t *testing.T) {
	mk := masterKey(t)
	good, err := rotated(t, mk).Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeDoc(good); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, in, want string }{
		{"not JSON", "SECRET", "not valid JSON: syntax error at offset 1"},
		{"wrong type", `{"version": "1"}`, "field version: want int"},
		{"trailing", string(good) + " {}", "unexpected data"},
		{"empty object", `{}`, "version 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeDoc([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Fatal("input in the message")
			}
		})
	}
}

func TestLiveSwap(t *testing.T) {
	mk := masterKey(t)
	var l Live
	if l.Lookup("x") != nil || l.Loaded() || l.KeyIDs() != nil || l.Revision() != 0 {
		t.Fatal("zero Live not empty")
	}
	if _, err := l.Signing(); !errors.Is(err, ErrNoSigningKey) {
		t.Fatalf("signing on empty: %v", err)
	}
	d := rotated(t, mk)
	sec, prim, next := d.Keys[0].ID, d.Keys[1].ID, d.Keys[2].ID
	if err := l.Set(d, 5, mk); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.KeyIDs(), ","); got != prim+","+next+","+sec {
		t.Fatalf("ids %s", got)
	}
	if k, err := l.Signing(); err != nil || k.ID != prim {
		t.Fatalf("signing %v %v", k, err)
	}
	ptrs := map[string]any{}
	for _, id := range []string{sec, prim, next} {
		k := l.Lookup(id)
		if k == nil {
			t.Fatalf("%s missing", id)
		}
		ptrs[id] = k
	}

	// Promote: next -> primary, primary -> secondary, secondary -> retired.
	d2 := d.Clone()
	d2.Keys[0].State, d2.Keys[0].Secret = StateRetired, ""
	d2.Keys[1].State = StateSecondary
	d2.Keys[2].State = StatePrimary
	d2.Rotation = Rotation{Phase: PhaseIdle}
	if err := l.Set(d2, 6, mk); err != nil {
		t.Fatal(err)
	}
	if l.Lookup(sec) != nil {
		t.Fatal("retired key still verifies")
	}
	for _, id := range []string{prim, next} {
		if any(l.Lookup(id)) != ptrs[id] {
			t.Fatalf("key %s changed pointer across the update", id)
		}
	}
	if k, _ := l.Signing(); k.ID != next || l.Revision() != 6 {
		t.Fatalf("after promotion: %s rev %d", k.ID, l.Revision())
	}

	// Bad updates keep the ring: invalid, sealed with another master key,
	// a secret re-sealed for another key id.
	other := masterKey(t)
	bad := map[string]*Doc{}
	inv := d2.Clone()
	inv.Version = 9
	bad["invalid"] = inv
	bad["other master key"] = NewDoc(other, t0)
	swapped := d2.Clone()
	swapped.Keys[1].Secret = swapped.Keys[2].Secret
	bad["swapped secret"] = swapped
	for name, bd := range bad {
		err := l.Set(bd, 7, mk)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if l.Revision() != 6 || l.Lookup(next) == nil {
			t.Fatalf("%s: ring changed", name)
		}
		t.Logf("%s: %v", name, err)
	}
	if err := l.Set(bad["other master key"], 7, mk); err == nil || !strings.Contains(err.Error(), "sealed with master key "+other.ID()+", have "+mk.ID()) {
		t.Fatalf("wrong master key message: %v", err)
	}
	if err := l.Set(swapped, 7, mk); !errors.Is(err, seal.ErrTampered) {
		t.Fatalf("swapped secret: %v", err)
	}
	if got := l.Doc(); got == nil || got.Primary().ID != next {
		t.Fatal("Doc")
	}
}

func TestImport(t *testing.T) {
	mk := masterKey(t)
	const (
		sA = "SECRET-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		sB = "SECRET-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	)
	smdeBoth := `{"primary": {"uuid": "kA", "value": "` + sA + `"}, "secondary": {"uuid": "kB", "value": "` + sB + `"}}`
	smdeOther := `{"primary": {"uuid": "kA", "value": "` + sB + `"}}`
	mapOne := `{"kA": "` + sA + `"}`
	mapTwo := `{"kA": "` + sA + `", "kB": "` + sB + `"}`
	times := ImportTimes{RetireAfter: 25 * time.Hour, Grace: 5 * time.Minute}
	withA := func() *Doc { // a ring that already has kA as primary
		d, _, err := Import(nil, mustParse(t, mapOne), mk, t0, times)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	tests := []struct {
		name     string
		cur      func() *Doc
		file     string
		want     map[string]State
		rotating bool
		nochange bool
		err      string
	}{
		{"smde into empty", func() *Doc { return nil }, smdeBoth, map[string]State{"kA": StatePrimary, "kB": StateSecondary}, false, false, ""},
		{"map of one into empty", func() *Doc { return nil }, mapOne, map[string]State{"kA": StatePrimary}, false, false, ""},
		{"map of two", func() *Doc { return nil }, mapTwo, nil, false, false, "names no primary"},
		{"smde into a ring", func() *Doc { return NewDoc(mk, t0) }, smdeBoth, map[string]State{"kA": StateNext, "kB": StateSecondary}, true, false, ""},
		{"again: unchanged", withA, mapOne, map[string]State{}, false, true, ""},
		{"same kid other secret", withA, smdeOther, nil, false, false, `kid "kA" is already in the ring (primary) with another secret`},
		{"secondary added beside", withA, smdeBoth, map[string]State{"kB": StateSecondary}, false, false, ""},
		{"during a rotation", func() *Doc { return rotated(t, mk) }, smdeBoth, nil, false, false, "rotation is in progress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := tt.cur()
			d, res, err := Import(cur, mustParse(t, tt.file), mk, t0, times)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrImportRefused) {
					t.Fatalf("err = %v, want %q (import refused)", err, tt.err)
				}
				if strings.Contains(err.Error(), "SECRET") {
					t.Fatal("secret in the message")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.nochange {
				if d != nil || len(res.Added) != 0 || len(res.Unchanged) != 1 {
					t.Fatalf("changed: %+v", res)
				}
				return
			}
			if res.Rotating != tt.rotating || len(res.Added) != len(tt.want) {
				t.Fatalf("result %+v", res)
			}
			for id, st := range tt.want {
				r := d.Find(id)
				if r == nil || r.State != st || res.Added[id] != st || r.Source != SourceImported {
					t.Fatalf("%s: %+v", id, r)
				}
				if st == StateSecondary && !r.RetireAfter.Equal(t0.Add(25*time.Hour)) {
					t.Fatalf("%s retires %v", id, r.RetireAfter)
				}
			}
			if tt.rotating && (d.Rotation.Phase != PhaseDistributing || d.Rotation.Next != "kA" || d.Rotation.Reason != "import" ||
				!d.Rotation.Deadline.Equal(t0.Add(5*time.Minute))) {
				t.Fatalf("rotation %+v", d.Rotation)
			}
			// The secrets open, as their UTF-8 bytes, and are stored sealed.
			var l Live
			if err := l.Set(d, 1, mk); err != nil {
				t.Fatal(err)
			}
			if k := l.Lookup("kA"); k == nil || string(k.Secret) != sA {
				t.Fatal("kA secret")
			}
			b, _ := json.Marshal(d)
			if strings.Contains(string(b), "SECRET") {
				t.Fatal("plain secret in the document")
			}
			if cur != nil && len(cur.Keys) == len(d.Keys) {
				t.Fatal("import changed its argument in place")
			}
		})
	}
}

func TestInfos(t *testing.T) {
	mk := masterKey(t)
	d := rotated(t, mk)
	d.Keys = append(d.Keys, Record{ID: "old", Alg: AlgHS256, State: StateRetired, Source: SourceGenerated, Created: t0})
	infos, err := d.Infos(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, i := range infos {
		states = append(states, string(i.State))
		if i.Secret != "" {
			t.Fatal("secret without reveal")
		}
	}
	if strings.Join(states, ",") != "next,primary,secondary,retired" {
		t.Fatalf("order %v", states)
	}
	infos, err = d.Infos(mk, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range infos {
		if (i.State == StateRetired) != (i.Secret == "") || (i.Secret != "" && len(i.Secret) != 128) {
			t.Fatalf("%s: secret of %d bytes", i.State, len(i.Secret))
		}
	}
	if _, err := d.Infos(masterKey(t), true); err == nil {
		t.Fatal("revealed with another master key")
	}
}

func TestPruneRetired(t *testing.T) {
	mk := masterKey(t)
	d := NewDoc(mk, t0)
	for i := range 5 {
		d.Keys = append(d.Keys, Record{ID: "r" + string(rune('0'+i)), Alg: AlgHS256, State: StateRetired, Created: t0})
	}
	d.PruneRetired(2)
	var ids []string
	for _, r := range d.Keys {
		ids = append(ids, r.ID)
	}
	if len(ids) != 3 || ids[1] != "r3" || ids[2] != "r4" || d.Keys[0].State != StatePrimary {
		t.Fatalf("kept %v", ids)
	}
}

func mustParse(t *testing.T, s string) *Ring {
	t.Helper()
	r, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func FuzzDecodeDoc(f *testing.F) {
	mk := masterKey(f)
	good, _ := rotated(f, mk).Encode()
	f.Add(good)
	f.Add([]byte(`{"version":1,"keys":[],"rotation":{"phase":"idle"}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDoc(b)
		if err != nil {
			return
		}
		// A decoded document is valid, encodes, and decodes to the same.
		enc, err := d.Encode()
		if err != nil {
			t.Fatalf("valid document does not encode: %v", err)
		}
		if _, err := DecodeDoc(enc); err != nil {
			t.Fatalf("round trip: %v", err)
		}
		var l Live
		_ = l.Set(d, 1, mk) // must not panic
	})
}
