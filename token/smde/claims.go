package smde

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/textproto"
	"time"

	"golang.org/x/net/http/httpguts"
)

// b64 is the only base64 flavour a JWT may use: URL alphabet, no padding,
// no stray bits. '=', '+' and '/' are refused.
var b64 = base64.RawURLEncoding.Strict()

// Header is the JOSE header of an SMDE token.
type Header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ,omitempty"`
	Kid string `json:"kid"`
}

// Claims is the payload of an SMDE token, as the SMDE SDK writes it.
type Claims struct {
	IP              bool     `json:"ip"`
	Country         bool     `json:"co"`
	City            bool     `json:"cty"`
	Region          bool     `json:"reg"`
	Session         bool     `json:"ssn"`
	Expiry          int64    `json:"exp"`
	Headers         []string `json:"headers"`
	Query           []string `json:"qs"`
	IntSig          string   `json:"intsig,omitempty"`
	Paths           []string `json:"paths"`
	Exclusions      []string `json:"exc"`
	IPVersion       int      `json:"ip_ver,omitempty"`
	CountryFallback bool     `json:"co_fallback,omitempty"`
	RegionFallback  bool     `json:"reg_fallback,omitempty"`
	NotBefore       int64    `json:"nbf,omitempty"`
	IssuedAt        int64    `json:"iat,omitempty"`

	// Has records which optional claims were present.
	HasNotBefore, HasIssuedAt bool `json:"-"`

	// Set by parseClaims for the verifier.
	intsig        []byte   // decoded IntSig
	headerKeys    []string // Headers in net/http's canonical form
	unknownClaims int      // claims this version does not know
}

// Bound names the viewer attributes the token binds, in the order of its
// claims: "ip", "country", "city", "region", "session", "header <name>",
// "query <name>".
func (c *Claims) Bound() []string {
	var out []string
	for _, a := range []struct {
		on   bool
		name string
	}{{c.IP, "ip"}, {c.Country, "country"}, {c.City, "city"}, {c.Region, "region"}, {c.Session, "session"}} {
		if a.on {
			out = append(out, a.name)
		}
	}
	for _, h := range c.Headers {
		out = append(out, "header "+h)
	}
	for _, q := range c.Query {
		out = append(out, "query "+q)
	}
	return out
}

// ExpiresAt returns exp as a time.
func (c *Claims) ExpiresAt() time.Time { return time.Unix(c.Expiry, 0) }

var (
	errMissingClaim = errors.New("required claim missing")
	errClaimType    = errors.New("claim has the wrong type")
)

// parseHeader reads a decoded JOSE header. It does not judge alg or kid.
func parseHeader(b []byte) (Header, error) {
	var h Header
	var hasAlg, hasKid bool
	r := jsonReader{b: b}
	o, err := r.beginObject()
	for err == nil {
		var key []byte
		var ok bool
		if key, ok, err = o.key(); !ok || err != nil {
			break
		}
		switch string(key) {
		case "alg":
			h.Alg, err = r.str()
			hasAlg = true
		case "typ":
			h.Typ, err = r.str()
		case "kid":
			h.Kid, err = r.str()
			hasKid = true
		case "crit":
			// RFC 7515 4.1.11: extensions the recipient does not
			// understand make the token invalid.
			return h, errors.New(`header has "crit"`)
		default:
			err = r.skip(1)
		}
	}
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return h, err
	}
	if !hasAlg || !hasKid {
		return h, errors.New("header lacks alg or kid")
	}
	if h.Typ != "" && h.Typ != "JWT" {
		return h, errors.New("header typ is not JWT")
	}
	return h, nil
}

// ParseClaims reads a decoded claims set strictly: JSON per RFC 8259 with no
// duplicate keys, each known claim of its type, exp and paths present, the
// intsig a 32-byte base64url value, and ip_ver 4 or 6 when ip is bound.
// Claims this version does not know are ignored.
func ParseClaims(b []byte) (*Claims, error) {
	c := &Claims{}
	var hasExp, hasPaths bool
	r := jsonReader{b: b}
	o, err := r.beginObject()
	for err == nil {
		var key []byte
		var ok bool
		if key, ok, err = o.key(); !ok || err != nil {
			break
		}
		switch string(key) {
		case "ip":
			c.IP, err = r.boolean()
		case "co":
			c.Country, err = r.boolean()
		case "cty":
			c.City, err = r.boolean()
		case "reg":
			c.Region, err = r.boolean()
		case "ssn":
			c.Session, err = r.boolean()
		case "co_fallback":
			c.CountryFallback, err = r.boolean()
		case "reg_fallback":
			c.RegionFallback, err = r.boolean()
		case "exp":
			c.Expiry, err = r.integer()
			hasExp = true
		case "nbf":
			c.NotBefore, err = r.integer()
			c.HasNotBefore = true
		case "iat":
			c.IssuedAt, err = r.integer()
			c.HasIssuedAt = true
		case "ip_ver":
			var v int64
			v, err = r.integer()
			c.IPVersion = int(v)
		case "headers":
			c.Headers, err = r.strings()
		case "qs":
			c.Query, err = r.strings()
		case "paths":
			c.Paths, err = r.strings()
			hasPaths = true
		case "exc":
			c.Exclusions, err = r.strings()
		case "intsig":
			c.IntSig, err = r.str()
		default:
			c.unknownClaims++
			err = r.skip(1)
			continue
		}
		if err == errJSON {
			err = fmt.Errorf("claim %q: %w", key, errClaimType)
		}
	}
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return nil, err
	}
	if !hasExp {
		return nil, fmt.Errorf("exp: %w", errMissingClaim)
	}
	if !hasPaths {
		return nil, fmt.Errorf("paths: %w", errMissingClaim)
	}
	if c.IP && c.IPVersion != 4 && c.IPVersion != 6 {
		return nil, errors.New("ip is bound but ip_ver is not 4 or 6")
	}
	if c.IntSig != "" {
		sig, err := b64.DecodeString(c.IntSig)
		if err != nil || len(sig) != 32 {
			return nil, errors.New("intsig is not a base64url HMAC-SHA256")
		}
		c.intsig = sig
	}
	c.headerKeys = make([]string, len(c.Headers))
	for i, h := range c.Headers {
		if !httpguts.ValidHeaderFieldName(h) {
			return nil, fmt.Errorf("headers: %q is not a header name", h)
		}
		c.headerKeys[i] = textproto.CanonicalMIMEHeaderKey(h)
	}
	return c, nil
}
