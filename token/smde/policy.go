package smde

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
)

// Policy is an SMDE token policy: what a token binds and grants. Its JSON
// form is the token_policy of SMDE's asset table and SDK.
type Policy struct {
	// IP binds the viewer's IP address.
	IP bool `json:"ip"`
	// Country binds the viewer's ISO 3166-1 alpha-2 country.
	Country bool `json:"co"`
	// City binds the viewer's city name.
	City bool `json:"cty"`
	// Region binds the viewer's ISO 3166-2 region code.
	Region bool `json:"reg"`
	// CountryFallback lets the edge accept the token when it cannot tell
	// the viewer's country (see the README: the rest of the binding is then
	// not checked).
	CountryFallback bool `json:"co_fallback"`
	// RegionFallback is CountryFallback for the region.
	RegionFallback bool `json:"reg_fallback"`
	// CityFallback is read from SMDE asset records, where only the token
	// API uses it; tokens carry no city fallback.
	CityFallback bool `json:"cty_fallback,omitempty"`
	// Session binds a session id, carried before the JWT in the path.
	Session bool `json:"ssn"`
	// SessionAutoGenerate is the length (7 to 200) of the session id
	// generated when the viewer has none; 0 means 12.
	SessionAutoGenerate IntString `json:"session_auto_generate,omitempty"`
	// Headers are lower-case request header names whose values are bound.
	Headers []string `json:"headers"`
	// QueryStrings are query parameter names whose values are bound.
	QueryStrings []string `json:"querystrings"`
	// Paths are the origin path prefixes the token grants.
	Paths []string `json:"paths"`
	// Exclusions are path prefixes that need only a valid signature and
	// time window.
	Exclusions []string `json:"exc"`
	// Expiry is unix seconds, or "+N" followed by s, m, h or d, relative to
	// the time of signing ("+2h"). SMDE's SDK knows m and h.
	Expiry IntString `json:"exp"`
	// NotBefore is optional unix seconds before which the token is invalid.
	NotBefore IntString `json:"nbf,omitempty"`
}

// IntString is a JSON value given as a number or a string, as SMDE's
// records hold them.
type IntString string

// UnmarshalJSON accepts a JSON string or an integer.
func (s *IntString) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = IntString(v)
		return nil
	}
	if _, err := strconv.ParseInt(string(b), 10, 64); err != nil {
		return fmt.Errorf("%s is not a string or an integer", b)
	}
	*s = IntString(b)
	return nil
}

// ParsePolicy reads a policy from JSON (see DecodePolicy) and validates it.
func ParsePolicy(b []byte) (*Policy, error) {
	p, err := DecodePolicy(b)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// DecodePolicy reads a policy from JSON without validating it, so that a
// caller can complete it first. Like every JSON smd reads, it must be one
// strict value: no duplicate keys, no unknown fields, nothing after it.
func DecodePolicy(b []byte) (*Policy, error) {
	var p Policy
	if err := decodeStrict(b, &p); err != nil {
		return nil, fmt.Errorf("token policy: %w", err)
	}
	return &p, nil
}

// ParseViewer reads viewer attributes from JSON, strictly as DecodePolicy.
func ParseViewer(b []byte) (*Viewer, error) {
	var v Viewer
	if err := decodeStrict(b, &v); err != nil {
		return nil, fmt.Errorf("viewer attributes: %w", err)
	}
	return &v, nil
}

// decodeStrict decodes one JSON object into v, refusing what encoding/json
// lets through: duplicate keys, invalid UTF-8, trailing data; and unknown
// fields.
func decodeStrict(b []byte, v any) error {
	r := jsonReader{b: b}
	if r.peek() != '{' {
		return errors.New("not a JSON object")
	}
	if err := r.skip(0); err != nil {
		return err
	}
	if err := r.end(); err != nil {
		return errors.New("data after the JSON object")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// Validate checks the policy, naming the bad field.
func (p *Policy) Validate() error {
	if len(p.Paths) == 0 {
		return errors.New("token policy: paths: at least one path prefix is needed")
	}
	for _, f := range []struct {
		name string
		list []string
	}{{"paths", p.Paths}, {"exc", p.Exclusions}} {
		for _, s := range f.list {
			if !strings.HasPrefix(s, "/") || !utf8.ValidString(s) {
				return fmt.Errorf("token policy: %s: %q must start with '/'", f.name, s)
			}
		}
	}
	for _, h := range p.Headers {
		if !httpguts.ValidHeaderFieldName(h) {
			return fmt.Errorf("token policy: headers: %q is not a header name", h)
		}
	}
	for _, q := range p.QueryStrings {
		if q == "" || !utf8.ValidString(q) {
			return fmt.Errorf("token policy: querystrings: %q is not a parameter name", q)
		}
	}
	if _, err := p.sessionLength(); err != nil {
		return err
	}
	if _, err := p.expiry(time.Unix(0, 0)); err != nil {
		return err
	}
	if _, _, err := p.notBefore(); err != nil {
		return err
	}
	return nil
}

func (p *Policy) sessionLength() (int, error) {
	if p.SessionAutoGenerate == "" {
		return 12, nil
	}
	n, err := strconv.Atoi(string(p.SessionAutoGenerate))
	if err != nil || n < 7 || n > MaxSessionID {
		return 0, fmt.Errorf("token policy: session_auto_generate: %q is not a length from 7 to %d", p.SessionAutoGenerate, MaxSessionID)
	}
	return n, nil
}

// expiry resolves exp at time now.
func (p *Policy) expiry(now time.Time) (int64, error) {
	s := string(p.Expiry)
	bad := fmt.Errorf(`token policy: exp: %q is not unix seconds or "+N" with s, m, h or d`, s)
	if s == "" {
		return 0, errors.New(`token policy: exp: missing (unix seconds, or relative such as "+2h")`)
	}
	if s[0] != '+' {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v <= 0 || v > maxInt {
			return 0, bad
		}
		return v, nil
	}
	if len(s) < 3 {
		return 0, bad
	}
	n, err := strconv.ParseInt(s[1:len(s)-1], 10, 64)
	if err != nil || n <= 0 || s[1] == '+' || s[1] == '-' {
		return 0, bad
	}
	unit := map[byte]int64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400}[s[len(s)-1]]
	if unit == 0 || n > maxInt/unit {
		return 0, bad
	}
	return now.Unix() + n*unit, nil
}

func (p *Policy) notBefore() (int64, bool, error) {
	if p.NotBefore == "" {
		return 0, false, nil
	}
	v, err := strconv.ParseInt(string(p.NotBefore), 10, 64)
	if err != nil || v < 0 || v > maxInt {
		return 0, false, fmt.Errorf("token policy: nbf: %q is not unix seconds", p.NotBefore)
	}
	return v, true, nil
}
