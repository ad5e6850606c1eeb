package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// raw32 is a fixed master key for tests.
var raw32 = []byte("0123456789abcdef0123456789ABCDEF")

func mustKey(t *testing.T, raw []byte) *Key {
	t.Helper()
	k, err := NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParseKey(t *testing.T) {
	want := mustKey(t, raw32).ID()
	tests := []struct {
		name, in, err string
	}{
		{"base64 std", base64.StdEncoding.EncodeToString(raw32), ""},
		{"base64 raw", base64.RawStdEncoding.EncodeToString(raw32), ""},
		{"base64 url", base64.URLEncoding.EncodeToString(raw32), ""},
		{"hex", hex.EncodeToString(raw32), ""},
		{"hex upper", strings.ToUpper(hex.EncodeToString(raw32)), ""},
		{"with newline and spaces", "  " + base64.StdEncoding.EncodeToString(raw32) + "\n", ""},
		{"empty", "", "master key is empty"},
		{"blank", " \n", "master key is empty"},
		{"16 bytes base64", base64.StdEncoding.EncodeToString(raw32[:16]), "16 bytes after base64 decoding, want 32"},
		{"33 bytes base64", base64.StdEncoding.EncodeToString(append(raw32, 'x')), "33 bytes after base64 decoding, want 32"},
		{"not base64", "this is not a key!", "neither base64 nor 64 hex digits"},
		{"raw bytes", string(raw32), "after base64 decoding"}, // 32 characters of text decode as 24 bytes
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey([]byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if strings.TrimSpace(tt.in) != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
					t.Fatalf("error shows the key text: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.ID() != want {
				t.Fatalf("id %s, want %s", k.ID(), want)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	k := mustKey(t, raw32)
	other, _, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if other.ID() == k.ID() || len(k.ID()) != 16 {
		t.Fatalf("ids: %s %s", k.ID(), other.ID())
	}
	secret := []byte("SECRET-0123456789abcdef0123456789abcdef")
	ad := []byte("kid=k1")
	s := k.Seal(secret, ad)
	if strings.Contains(s, string(secret)) || !strings.HasPrefix(s, "smdseal1."+k.ID()+".") {
		t.Fatalf("sealed form: %s", s)
	}
	if s2 := k.Seal(secret, ad); s2 == s {
		t.Fatal("two seals of the same secret are equal: nonce reused")
	}
	got, err := k.Open(s, ad)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q %v", got, err)
	}
	if id, err := SealedKeyID(s); err != nil || id != k.ID() {
		t.Fatalf("SealedKeyID: %s %v", id, err)
	}

	body := s[strings.LastIndexByte(s, '.')+1:]
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name   string
		key    *Key
		sealed string
		ad     string
		want   error
	}{
		{"other master key", other, s, "kid=k1", &WrongKeyError{}},
		{"other record", k, s, "kid=k2", ErrTampered},
		{"no associated data", k, s, "", ErrTampered},
		{"flipped body byte", k, flip(s, len(s)-5), "kid=k1", ErrTampered},
		{"flipped nonce byte", k, flip(s, len(s)-len(body)+1), "kid=k1", ErrTampered},
		{"id relabelled", other, strings.Replace(s, k.ID(), other.ID(), 1), "kid=k1", ErrTampered},
		{"truncated", k, s[:len(s)-len(body)+10], "kid=k1", ErrMalformed},
		{"not base64", k, s[:len(s)-3] + "!!!", "kid=k1", ErrMalformed},
		{"no prefix", k, strings.TrimPrefix(s, "smdseal1."), "kid=k1", ErrMalformed},
		{"bad id", k, "smdseal1.XYZ." + body, "kid=k1", ErrMalformed},
		{"plain text", k, string(secret), "kid=k1", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.key.Open(tt.sealed, []byte(tt.ad))
			if pt != nil {
				t.Fatalf("opened: %q", pt)
			}
			var wk *WrongKeyError
			switch {
			case errors.As(tt.want, &wk):
				if !errors.As(err, &wk) || wk.Sealed != k.ID() || wk.Have != other.ID() {
					t.Fatalf("err = %v, want a WrongKeyError", err)
				}
				want := "sealed with master key " + k.ID() + ", have " + other.ID()
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("message %q lacks %q", err, want)
				}
			case !errors.Is(err, tt.want):
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("error shows the secret: %v", err)
			}
		})
	}
}

func TestLoadOrCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "master.key")
	k1, created, err := LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %04o, want 0600", st.Mode().Perm())
	}
	if dst, _ := os.Stat(filepath.Dir(path)); dst.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %04o, want 0700", dst.Mode().Perm())
	}
	k2, created, err := LoadOrCreate(path)
	if err != nil || created || k2.ID() != k1.ID() {
		t.Fatalf("reload: %v %v %v", created, err, k2)
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Fatalf("files: %v", ents)
	}
	// What was sealed with it opens after reloading.
	s := k1.Seal([]byte("x"), nil)
	if _, err := k2.Open(s, nil); err != nil {
		t.Fatal(err)
	}
}

func TestLoadOrCreateRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _, err := LoadOrCreate(path)
			if err == nil {
				ids[i] = k.ID()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("racer %d: %s %v (first %s)", i, ids[i], errs[i], ids[0])
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	good := base64.StdEncoding.EncodeToString(raw32) + "\n"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{"group readable", good, 0o640, "has mode 0640: group and others must have no access; run chmod 600"},
		{"world readable", good, 0o604, "has mode 0604"},
		{"short key", base64.StdEncoding.EncodeToString(raw32[:20]), 0o600, "20 bytes after base64 decoding, want 32"},
		{"empty", "", 0o600, "master key is empty"},
		{"too large", strings.Repeat("A", 5000), 0o600, "larger than 4096 bytes"},
		{"ok", good, 0o600, ""},
		{"ok owner read only", good, 0o400, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "k"+string(rune('a'+i)))
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			k, err := LoadFile(path)
			if tt.want == "" {
				if err != nil || k == nil {
					t.Fatalf("load: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			// LoadOrCreate never replaces a file it refuses.
			if _, _, err := LoadOrCreate(path); err == nil {
				t.Fatal("LoadOrCreate accepted it")
			}
			if b, _ := os.ReadFile(path); string(b) != tt.content {
				t.Fatal("file changed")
			}
		})
	}
	if _, err := LoadFile(filepath.Join(dir, "absent")); err == nil {
		t.Fatal("absent file loaded")
	}
	if _, err := LoadFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("directory: %v", err)
	}
}

func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	fileKey, _, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	envText := hex.EncodeToString(raw32)
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	tests := []struct {
		name    string
		path    string
		lookup  func(string) (string, bool)
		create  bool
		wantID  string
		wantErr string
		from    string
	}{
		{"env wins", path, env(map[string]string{EnvVar: envText}), false, mustKey(t, raw32).ID(), "", EnvVar},
		{"file without env", path, env(nil), false, fileKey.ID(), "", path},
		{"nil lookup", path, nil, false, fileKey.ID(), "", path},
		{"bad env", path, env(map[string]string{EnvVar: "short"}), false, "", "SMD_MASTER_KEY: master key", ""},
		{"absent file", filepath.Join(dir, "none"), nil, false, "", "no such file", ""},
		{"absent file created", filepath.Join(dir, "new.key"), nil, true, "", "", filepath.Join(dir, "new.key") + " (created)"},
		{"nothing", "", nil, false, "", "no master key: set SMD_MASTER_KEY", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, from, err := Load(tt.path, tt.lookup, tt.create)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantID != "" && k.ID() != tt.wantID {
				t.Fatalf("id %s, want %s", k.ID(), tt.wantID)
			}
			if from != tt.from {
				t.Fatalf("from %q, want %q", from, tt.from)
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	k, err := NewKey(raw32)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(k.Seal([]byte("secret"), []byte("kid=k1")), "kid=k1")
	f.Add("smdseal1.0123456789abcdef.AAAA", "")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, sealed, ad string) {
		pt, err := k.Open(sealed, []byte(ad))
		if err != nil {
			return
		}
		again, err := k.Open(k.Seal(pt, []byte(ad)), []byte(ad))
		if err != nil || !bytes.Equal(again, pt) {
			t.Fatalf("round trip of an opened value: %v", err)
		}
	})
}

func FuzzParseKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(raw32))
	f.Add(hex.EncodeToString(raw32))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if k, err := ParseKey([]byte(s)); err == nil && len(k.ID()) != 16 {
			t.Fatalf("id %q", k.ID())
		}
	})
}
