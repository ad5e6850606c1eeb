// Package apikey holds the API keys of smd's control plane: a JSON file
// of key ids, SHA-256 digests of their secrets and scopes, loaded at
// start, and the bearer tokens "smd_<id>_<secret>" that clients send.
//
// The contract: the file never holds a secret, only its SHA-256; a token
// is checked by hashing its secret and comparing digests in constant
// time; errors and String methods never show a secret. [Bootstrap]
// creates a file with one admin and one issuer key (mode 0600) and writes
// each token to its own 0600 file beside it, so that nothing needs to
// print or log a secret.
package apikey

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Scopes.
const (
	// ScopeAdmin allows everything.
	ScopeAdmin = "admin"
	// ScopeIssuer allows GET /v1/token.
	ScopeIssuer = "issuer"
	// ScopeRead allows the management API's reads (lists and gets),
	// never secrets.
	ScopeRead = "read"
)

// TokenPrefix starts every token.
const TokenPrefix = "smd_"

// secretBytes is the entropy of a generated secret (256 bits).
const secretBytes = 32

// maxFile bounds the key file.
const maxFile = 1 << 20

// Key is one API key as the file holds it.
type Key struct {
	// ID names the key in tokens and logs: 1-32 letters, digits or '-'.
	ID string `json:"id"`
	// SHA256 is the hex SHA-256 of the secret (the part of the token
	// after "smd_<id>_").
	SHA256 string `json:"sha256"`
	// Scopes are what the key may do: admin, issuer, read.
	Scopes []string `json:"scopes"`
}

// Has reports whether the key grants scope; admin grants every scope.
func (k *Key) Has(scope string) bool {
	return slices.Contains(k.Scopes, ScopeAdmin) || slices.Contains(k.Scopes, scope)
}

// file is the JSON form of a key file.
type file struct {
	Keys []Key `json:"keys"`
}

// Set is a loaded set of keys. It is safe for concurrent use.
type Set struct {
	byID map[string]*Key
}

// Errors of Set.Authenticate.
var (
	// ErrMalformed: the token is not "smd_<id>_<secret>".
	ErrMalformed = errors.New("apikey: malformed token")
	// ErrUnknown: no such key, or the secret does not match.
	ErrUnknown = errors.New("apikey: unknown key or wrong secret")
)

// Load reads a key file.
func Load(path string) (*Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("api key file: %w", err)
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("api key file %s: %w", path, err)
	}
	return s, nil
}

// Parse reads a key file's content: {"keys": [{"id", "sha256", "scopes"}]}.
// Unknown fields, duplicate ids, unknown scopes and malformed digests are
// errors naming the key.
func Parse(b []byte) (*Set, error) {
	if len(b) > maxFile {
		return nil, fmt.Errorf("larger than %d bytes", maxFile)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	var f file
	if err := d.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := d.Token(); err == nil {
		return nil, errors.New("data after the JSON object")
	}
	s := &Set{byID: make(map[string]*Key, len(f.Keys))}
	for i := range f.Keys {
		k := &f.Keys[i]
		where := fmt.Sprintf("keys[%d]", i)
		if !validID(k.ID) {
			return nil, fmt.Errorf("%s.id: %q must be 1-32 letters, digits or '-'", where, k.ID)
		}
		where = fmt.Sprintf("keys[%d] (%s)", i, k.ID)
		if _, dup := s.byID[k.ID]; dup {
			return nil, fmt.Errorf("%s.id: repeats an earlier key", where)
		}
		if len(k.SHA256) != 64 || strings.ToLower(k.SHA256) != k.SHA256 {
			return nil, fmt.Errorf("%s.sha256: want 64 lower-case hex digits", where)
		}
		if _, err := hex.DecodeString(k.SHA256); err != nil {
			return nil, fmt.Errorf("%s.sha256: want 64 lower-case hex digits", where)
		}
		if len(k.Scopes) == 0 {
			return nil, fmt.Errorf("%s.scopes: at least one of admin, issuer, read", where)
		}
		for _, sc := range k.Scopes {
			if sc != ScopeAdmin && sc != ScopeIssuer && sc != ScopeRead {
				return nil, fmt.Errorf("%s.scopes: %q is not admin, issuer or read", where, sc)
			}
		}
		s.byID[k.ID] = k
	}
	return s, nil
}

// Len returns the number of keys.
func (s *Set) Len() int { return len(s.byID) }

// dummy is compared against when the id is unknown, so that an unknown
// id costs as much as a wrong secret.
var dummy = sha256.Sum256([]byte("smd-apikey-dummy"))

// Authenticate checks a token and returns its key.
func (s *Set) Authenticate(token string) (*Key, error) {
	id, secret, ok := split(token)
	if !ok {
		return nil, ErrMalformed
	}
	sum := sha256.Sum256([]byte(secret))
	want := dummy[:]
	k := s.byID[id]
	if k != nil {
		w, err := hex.DecodeString(k.SHA256)
		if err == nil {
			want = w
		}
	}
	if subtle.ConstantTimeCompare(sum[:], want) != 1 || k == nil {
		return nil, ErrUnknown
	}
	return k, nil
}

// split reads "smd_<id>_<secret>".
func split(token string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok || len(token) > 512 {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || !validID(id) || secret == "" {
		return "", "", false
	}
	return id, secret, true
}

func validID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// New makes a key with a fresh random secret and returns it with its
// token, the only place the secret appears.
func New(id string, scopes ...string) (Key, string, error) {
	if !validID(id) {
		return Key{}, "", fmt.Errorf("apikey: id %q must be 1-32 letters, digits or '-'", id)
	}
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return Key{}, "", fmt.Errorf("apikey: %w", err)
	}
	secret := hex.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	return Key{ID: id, SHA256: hex.EncodeToString(sum[:]), Scopes: scopes}, TokenPrefix + id + "_" + secret, nil
}

// Bootstrapped says what Bootstrap created.
type Bootstrapped struct {
	// File is the key file.
	File string
	// AdminTokenFile and IssuerTokenFile hold the tokens of the keys
	// "admin" (scope admin) and "issuer" (scope issuer), one line each.
	AdminTokenFile, IssuerTokenFile string
}

// Bootstrap creates the key file at path with an admin and an issuer key
// when no file exists there, and writes their tokens to <path without
// .json>.admin and .issuer (all three mode 0600, created exclusively). It
// returns nil, nil when the file already exists. smd serve calls it on
// first start and prints the returned paths, never the tokens.
func Bootstrap(path string) (*Bootstrapped, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("api key file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("api key file: %w", err)
	}
	base := strings.TrimSuffix(path, ".json")
	out := &Bootstrapped{File: path, AdminTokenFile: base + ".admin", IssuerTokenFile: base + ".issuer"}
	admin, adminToken, err := New("admin", ScopeAdmin)
	if err != nil {
		return nil, err
	}
	issuer, issuerToken, err := New("issuer", ScopeIssuer)
	if err != nil {
		return nil, err
	}
	body, err := json.MarshalIndent(file{Keys: []Key{admin, issuer}}, "", "  ")
	if err != nil {
		return nil, err
	}
	// Tokens first: the key file's presence means "bootstrapped".
	for _, f := range []struct{ path, content string }{
		{out.AdminTokenFile, adminToken + "\n"},
		{out.IssuerTokenFile, issuerToken + "\n"},
		{path, string(body) + "\n"},
	} {
		if err := writeExclusive(f.path, []byte(f.content)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writeExclusive creates path with mode 0600; it fails if path exists.
func writeExclusive(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("api key file: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("api key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("api key file: %w", err)
	}
	return f.Close()
}
