package asset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smd-media/smd/internal/strictjson"
	"github.com/smd-media/smd/token/smde"
)

// Limits of an asset's fields.
const (
	// MaxIDLen is SMDE's limit on asset ids.
	MaxIDLen = 200
	// MaxURLPathLen bounds url_path.
	MaxURLPathLen = 2048
	// MaxHostnameLen bounds endpoint_hostname.
	MaxHostnameLen = 300
	// MaxJSON bounds the JSON of one asset.
	MaxJSON = 64 << 10
)

// Asset is one title of the catalog. Its JSON form is SMDE's asset item.
type Asset struct {
	// ID names the asset in GET /v1/token?id=: 1-200 letters, digits or
	// '_' (SMDE's syntax).
	ID string `json:"id"`
	// URLPath is the path (and optional query) of the title's playlist or
	// manifest on the edge, e.g. /vod/m1/index.m3u8.
	URLPath string `json:"url_path"`
	// EndpointHostname is where viewers play from: "cdn.example.com",
	// "cdn.example.com:8443", or with a scheme "https://cdn.example.com"
	// (SMDE's records carry the scheme); without one the token API's
	// configured scheme is used.
	EndpointHostname string `json:"endpoint_hostname"`
	// TokenPolicy is the SMDE token policy of the asset's tokens.
	TokenPolicy smde.Policy `json:"token_policy"`
	// Revision is the bucket revision the asset was read at; set by the
	// Store, ignored when writing unless given to Update.
	Revision uint64 `json:"revision,omitempty"`
	// UpdatedAt is when the asset was last written; set by the Store.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// FieldError is an invalid asset, naming the JSON field.
type FieldError struct {
	// Field is the JSON name, e.g. "url_path" or "token_policy.paths".
	Field string
	// Problem says what is wrong.
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// ValidID reports whether id is an asset id: 1-200 letters, digits or '_'.
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// errID is the error for a bad id.
var errID = &FieldError{"id", "must be 1-200 letters, digits or '_'"}

// Parse reads one asset from JSON and validates it. Unknown fields, in
// the asset or its token_policy, are errors.
func Parse(b []byte) (*Asset, error) {
	a, err := decode(b, true)
	if err != nil {
		return nil, err
	}
	if err := a.Validate(); err != nil {
		return nil, err
	}
	return a, nil
}

// wire is the JSON form read from clients: the policy stays raw so that
// smde.DecodePolicy reads it strictly.
type wire struct {
	ID               *string         `json:"id"`
	URLPath          *string         `json:"url_path"`
	EndpointHostname *string         `json:"endpoint_hostname"`
	TokenPolicy      json.RawMessage `json:"token_policy"`
	Revision         uint64          `json:"revision,omitempty"`
	UpdatedAt        json.RawMessage `json:"updated_at,omitempty"`
}

// decode reads an asset; strict refuses unknown top-level fields.
func decode(b []byte, strict bool) (*Asset, error) {
	if len(b) > MaxJSON {
		return nil, &FieldError{"asset", fmt.Sprintf("larger than %d bytes", MaxJSON)}
	}
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '{' {
		return nil, &FieldError{"asset", "not a JSON object"}
	}
	var w wire
	if strict {
		// One value, no member twice (the token policy's included), no
		// unknown member, in our words.
		if err := strictjson.Decode(b, &w); err != nil {
			var e *strictjson.Error
			if errors.As(err, &e) && e.Field != "" {
				return nil, &FieldError{e.Field, e.Problem}
			} else if e != nil {
				return nil, &FieldError{"asset", e.Problem}
			}
			return nil, &FieldError{"asset", "not valid JSON"}
		}
	} else {
		d := json.NewDecoder(bytes.NewReader(b))
		if err := d.Decode(&w); err != nil {
			return nil, jsonError(err)
		}
		if _, err := d.Token(); err == nil {
			return nil, &FieldError{"asset", "data after the JSON object"}
		}
	}
	a := &Asset{Revision: w.Revision}
	for _, f := range []struct {
		name string
		src  *string
		dst  *string
	}{{"id", w.ID, &a.ID}, {"url_path", w.URLPath, &a.URLPath}, {"endpoint_hostname", w.EndpointHostname, &a.EndpointHostname}} {
		if f.src == nil {
			return nil, &FieldError{f.name, "missing"}
		}
		*f.dst = *f.src
	}
	if len(w.TokenPolicy) == 0 || string(w.TokenPolicy) == "null" {
		return nil, &FieldError{"token_policy", "missing"}
	}
	p, err := smde.DecodePolicy(w.TokenPolicy)
	if err != nil {
		return nil, policyError(err)
	}
	a.TokenPolicy = *p
	return a, nil
}

// jsonKind words a Go type name of an encoding/json error as the JSON a
// client must send.
func jsonKind(goType string) string {
	switch {
	case goType == "string":
		return "a JSON string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number in range"
	case strings.HasPrefix(goType, "float"):
		return "a JSON number"
	case goType == "[]string":
		return "a JSON array of strings"
	case strings.HasPrefix(goType, "[]"):
		return "a JSON array"
	case strings.HasPrefix(goType, "map["), strings.Contains(goType, "."):
		return "a JSON object"
	}
	return "another JSON type"
}

// jsonError names the field of an encoding/json error.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &FieldError{te.Field, "want " + jsonKind(te.Type.String())}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return &FieldError{strings.Trim(name, `"`), "unknown field"}
	}
	return &FieldError{"asset", msg}
}

// policyTypeError matches encoding/json's type errors in a Policy.
var policyTypeError = regexp.MustCompile(`Policy\.(\w+) of type (\S+)`)

// policyError turns smde's "token policy: <field>: <problem>" into a
// FieldError naming token_policy.<field>.
func policyError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "token policy: ")
	msg = strings.TrimPrefix(msg, "json: ")
	if name, ok := strings.CutPrefix(msg, "unknown field "); ok {
		return &FieldError{"token_policy." + strings.Trim(name, `"`), "unknown field"}
	}
	if m := policyTypeError.FindStringSubmatch(msg); m != nil {
		return &FieldError{"token_policy." + m[1], "want " + jsonKind(m[2])}
	}
	if field, problem, ok := strings.Cut(msg, ": "); ok && !strings.ContainsAny(field, " \"") {
		return &FieldError{"token_policy." + field, problem}
	}
	return &FieldError{"token_policy", msg}
}

// Validate checks the asset; the error is a *FieldError.
func (a *Asset) Validate() error {
	if !ValidID(a.ID) {
		return errID
	}
	if err := checkURLPath(a.URLPath); err != nil {
		return err
	}
	if err := checkHostname(a.EndpointHostname); err != nil {
		return err
	}
	if err := a.TokenPolicy.Validate(); err != nil {
		return policyError(err)
	}
	path, _, _ := strings.Cut(a.URLPath, "?")
	if !covered(path, a.TokenPolicy.Paths) && !covered(path, a.TokenPolicy.Exclusions) {
		return &FieldError{"token_policy.paths", fmt.Sprintf("no prefix grants url_path %q, so its tokens would open nothing", path)}
	}
	return nil
}

func covered(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func checkURLPath(p string) error {
	bad := func(problem string) error { return &FieldError{"url_path", problem} }
	switch {
	case p == "":
		return bad("missing")
	case len(p) > MaxURLPathLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxURLPathLen))
	case !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//"):
		return bad(fmt.Sprintf("%q must start with a single '/'", p))
	case !utf8.ValidString(p) || strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return bad("must be valid UTF-8 without spaces or control characters")
	case strings.Contains(p, "#"):
		return bad("must not contain a fragment ('#')")
	}
	if _, err := url.ParseRequestURI(p); err != nil {
		return bad(fmt.Sprintf("%q is not a URL path", p))
	}
	return nil
}

func checkHostname(h string) error {
	bad := func(problem string) error { return &FieldError{"endpoint_hostname", problem} }
	if h == "" {
		return bad("missing")
	}
	if len(h) > MaxHostnameLen {
		return bad(fmt.Sprintf("longer than %d bytes", MaxHostnameLen))
	}
	s := h
	if !strings.Contains(h, "://") {
		s = "https://" + h
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") {
		return bad(fmt.Sprintf("%q: want a host, host:port or http(s)://host[:port]", h))
	}
	return nil
}

// PlaybackURL returns the URL of the asset without a token: scheme (from
// endpoint_hostname, else defaultScheme), host and url_path.
func (a *Asset) PlaybackURL(defaultScheme string) string {
	h := strings.TrimSuffix(a.EndpointHostname, "/")
	if !strings.Contains(h, "://") {
		h = defaultScheme + "://" + h
	}
	return h + a.URLPath
}

// normalize gives nil lists of the policy an empty value, so that the
// JSON form always has arrays.
func (a *Asset) normalize() {
	p := &a.TokenPolicy
	for _, l := range []*[]string{&p.Headers, &p.QueryStrings, &p.Paths, &p.Exclusions} {
		if *l == nil {
			*l = []string{}
		}
	}
}
