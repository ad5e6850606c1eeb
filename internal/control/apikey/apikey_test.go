package apikey

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewAndAuthenticate(t *testing.T) {
	admin, adminTok, err := New("ops-1", ScopeAdmin)
	if err != nil {
		t.Fatal(err)
	}
	issuer, issuerTok, err := New("backend", ScopeIssuer, ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	s := &Set{byID: map[string]*Key{admin.ID: &admin, issuer.ID: &issuer}}
	if !strings.HasPrefix(adminTok, "smd_ops-1_") || len(adminTok) != len("smd_ops-1_")+64 {
		t.Errorf("token form %q", adminTok[:10])
	}
	tests := []struct {
		name, token string
		id          string
		err         error
	}{
		{"admin", adminTok, "ops-1", nil},
		{"issuer", issuerTok, "backend", nil},
		{"wrong secret", adminTok[:len(adminTok)-4] + "zzzz", "", ErrUnknown},
		{"secret of another key", "smd_ops-1_" + issuerTok[len("smd_backend_"):], "", ErrUnknown},
		{"unknown id", "smd_nobody_" + adminTok[len("smd_ops-1_"):], "", ErrUnknown},
		{"no prefix", adminTok[4:], "", ErrMalformed},
		{"no secret", "smd_ops-1_", "", ErrMalformed},
		{"bad id", "smd_a.b_secret", "", ErrMalformed},
		{"empty", "", "", ErrMalformed},
		{"huge", "smd_a_" + strings.Repeat("x", 600), "", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := s.Authenticate(tc.token)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && k.ID != tc.id {
				t.Errorf("key %q, want %q", k.ID, tc.id)
			}
			if err != nil && strings.Contains(err.Error(), tc.token) && tc.token != "" {
				t.Error("error repeats the token")
			}
		})
	}
	if !admin.Has(ScopeIssuer) || !admin.Has(ScopeRead) || issuer.Has(ScopeAdmin) || !issuer.Has(ScopeRead) {
		t.Error("scopes: admin grants all; others only theirs")
	}
	if _, _, err := New("a_b", ScopeAdmin); err == nil {
		t.Error("New accepted an id with '_'")
	}
}

func TestParseErrors(t *testing.T) {
	h := strings.Repeat("a", 64)
	tests := []struct{ name, in, want string }{
		{"not JSON", `x`, "invalid character"},
		{"unknown field", `{"keys":[],"x":1}`, "unknown field"},
		{"trailing", `{"keys":[]} {}`, "data after"},
		{"bad id", `{"keys":[{"id":"a_b","sha256":"` + h + `","scopes":["admin"]}]}`, "keys[0].id"},
		{"duplicate", `{"keys":[{"id":"a","sha256":"` + h + `","scopes":["admin"]},{"id":"a","sha256":"` + h + `","scopes":["read"]}]}`, "keys[1] (a).id: repeats"},
		{"short digest", `{"keys":[{"id":"a","sha256":"abc","scopes":["admin"]}]}`, "keys[0] (a).sha256"},
		{"upper-case digest", `{"keys":[{"id":"a","sha256":"` + strings.ToUpper(h) + `","scopes":["admin"]}]}`, "sha256"},
		{"non-hex digest", `{"keys":[{"id":"a","sha256":"` + strings.Repeat("g", 64) + `","scopes":["admin"]}]}`, "sha256"},
		{"no scopes", `{"keys":[{"id":"a","sha256":"` + h + `","scopes":[]}]}`, "keys[0] (a).scopes"},
		{"bad scope", `{"keys":[{"id":"a","sha256":"` + h + `","scopes":["root"]}]}`, `"root" is not`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestBootstrap(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "api-keys.json")
	b, err := Bootstrap(path)
	if err != nil {
		t.Fatal(err)
	}
	if b == nil || b.File != path || b.AdminTokenFile != filepath.Join(dir, "sub", "api-keys.admin") {
		t.Fatalf("Bootstrap = %+v", b)
	}
	set, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct{ path, scope string }{{b.AdminTokenFile, ScopeAdmin}, {b.IssuerTokenFile, ScopeIssuer}} {
		st, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", f.path, st.Mode().Perm())
		}
		tok, _ := os.ReadFile(f.path)
		k, err := set.Authenticate(strings.TrimSpace(string(tok)))
		if err != nil || !k.Has(f.scope) {
			t.Errorf("%s: %v %+v", f.path, err, k)
		}
		if f.scope == ScopeIssuer && k.Has(ScopeAdmin) {
			t.Error("issuer key has admin")
		}
	}
	st, _ := os.Stat(path)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", st.Mode().Perm())
	}
	content, _ := os.ReadFile(path)
	adminTok, _ := os.ReadFile(b.AdminTokenFile)
	if strings.Contains(string(content), strings.TrimSpace(string(adminTok))[len("smd_admin_"):]) {
		t.Error("the key file holds a secret")
	}
	// A second start finds the file and leaves it alone.
	again, err := Bootstrap(path)
	if err != nil || again != nil {
		t.Fatalf("second Bootstrap = %+v, %v", again, err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(content) {
		t.Error("second Bootstrap changed the file")
	}
}
