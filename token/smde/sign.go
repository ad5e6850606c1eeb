package smde

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smd-media/smd/token"
)

// Viewer holds the attributes of the viewer a token is issued to. Its JSON
// form follows the viewer_attributes of SMDE's SDK.
type Viewer struct {
	// IP is the viewer's address, IPv4 or IPv6 in any textual form.
	IP string `json:"ip,omitempty"`
	// Country is the ISO 3166-1 alpha-2 code, "" if unknown.
	Country string `json:"co,omitempty"`
	// City is the city name, "" if unknown.
	City string `json:"cty,omitempty"`
	// Region is the ISO 3166-2 code without the country, "" if unknown.
	Region string `json:"reg,omitempty"`
	// SessionID is the session to bind; generated when empty and the
	// policy binds a session.
	SessionID string `json:"sessionId,omitempty"`
	// Headers maps header names (any case) to values.
	Headers map[string]string `json:"headers,omitempty"`
	// Query maps query parameter names to values.
	Query map[string]string `json:"qs,omitempty"`
}

// Signed is a freshly issued token.
type Signed struct {
	// Token is the first path segment: "[sessionid.]header.payload.signature".
	Token string
	// SessionID is the bound session id, or "".
	SessionID string
	Header    Header
	Claims    Claims
}

// Signer issues SMDE tokens exactly as SMDE's Node SDK v1.2.6 does: the same
// header, the same claims in the same order and encoding, the same binding
// input, so that SMDE's own edge validator accepts them too.
type Signer struct {
	// Key signs; Key.ID becomes the "kid".
	Key *token.Key
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Rand provides session ids; crypto/rand when nil.
	Rand io.Reader
}

// Sign issues a token for the viewer under the policy.
func (s *Signer) Sign(p *Policy, v *Viewer) (*Signed, error) {
	return s.sign(p, v, nil)
}

// SignURL issues a token and returns the playback URL: the token inserted
// as the first path segment of playbackURL ("https://host/<token>/path").
// Bound query values are taken from the URL's query first, then from v.
func (s *Signer) SignURL(p *Policy, v *Viewer, playbackURL string) (string, *Signed, error) {
	head, tail, err := splitPlaybackURL(playbackURL)
	if err != nil {
		return "", nil, err
	}
	var q url.Values
	if i := strings.IndexByte(tail, '?'); i >= 0 {
		if q, err = url.ParseQuery(tail[i+1:]); err != nil {
			return "", nil, fmt.Errorf("playback URL query: %w", err)
		}
	}
	t, err := s.sign(p, v, q)
	if err != nil {
		return "", nil, err
	}
	return head + "/" + t.Token + tail, t, nil
}

// splitPlaybackURL splits "scheme://host/path?q" into "scheme://host" and
// "/path?q" (which may be empty).
func splitPlaybackURL(u string) (head, tail string, err error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" || pu.Fragment != "" || pu.User != nil {
		return "", "", fmt.Errorf("playback URL %q: want http(s)://host/path", u)
	}
	rest := u[len(pu.Scheme)+3:]
	i := strings.IndexAny(rest, "/?")
	if i < 0 {
		return u, "", nil
	}
	return u[:len(pu.Scheme)+3+i], rest[i:], nil
}

func (s *Signer) sign(p *Policy, v *Viewer, urlQuery url.Values) (*Signed, error) {
	if s.Key == nil || len(s.Key.Secret) == 0 || s.Key.ID == "" {
		return nil, errors.New("sign: no key")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	c := Claims{
		IP: p.IP, Country: p.Country, City: p.City, Region: p.Region, Session: p.Session,
		Headers: nonNil(p.Headers), Query: nonNil(p.QueryStrings),
		Paths: p.Paths, Exclusions: nonNil(p.Exclusions),
		IssuedAt: now().Unix(), HasIssuedAt: true,
	}
	var err error
	if c.Expiry, err = p.expiry(now()); err != nil {
		return nil, err
	}
	if c.NotBefore, c.HasNotBefore, err = p.notBefore(); err != nil {
		return nil, err
	}
	var in []byte
	if p.IP {
		a, err := netip.ParseAddr(v.IP)
		if err != nil {
			return nil, fmt.Errorf("viewer ip: %q is not an IP address", v.IP)
		}
		a = viewerAddr(a)
		c.IPVersion = ipVersion(a)
		in = append(appendIP(in, a), ':')
	}
	// SMDE's SDK writes "undefined" for a country or region it does not
	// know; such tokens verify only through the fallback, as here.
	if p.Country {
		if v.Country == "" && !p.CountryFallback {
			return nil, errors.New("viewer co: country unknown and the policy has no co_fallback")
		}
		in = appendAttr(in, orUndefined(v.Country))
		c.CountryFallback = p.CountryFallback
	}
	if p.City {
		if v.City == "" {
			return nil, errors.New("viewer cty: city unknown")
		}
		in = appendAttr(in, v.City)
	}
	if p.Region {
		if v.Region == "" && !p.RegionFallback {
			return nil, errors.New("viewer reg: region unknown and the policy has no reg_fallback")
		}
		in = appendAttr(in, orUndefined(v.Region))
		c.RegionFallback = p.RegionFallback
	}
	sid := ""
	if p.Session {
		if sid = v.SessionID; sid == "" {
			n, _ := p.sessionLength()
			if sid, err = s.sessionID(n); err != nil {
				return nil, err
			}
		} else if !ValidSessionID(sid) {
			return nil, fmt.Errorf("viewer sessionId: %q is not 1-200 letters, digits or '_'", sid)
		}
		in = appendAttr(in, sid)
	}
	for _, h := range p.Headers {
		if val := headerValue(v.Headers, h); val != "" {
			in = appendAttr(in, val)
		}
	}
	for _, q := range p.QueryStrings {
		val := urlQuery.Get(q)
		if val == "" {
			val = v.Query[q]
		}
		if val != "" {
			in = appendAttr(in, val)
		}
	}
	if !utf8.Valid(in) {
		return nil, errors.New("viewer attributes are not valid UTF-8")
	}
	if in = finishInput(in); len(in) > 0 {
		c.intsig = s.Key.MAC(nil, in)
		c.IntSig = b64.EncodeToString(c.intsig)
	}
	h := Header{Alg: "HS256", Typ: "JWT", Kid: s.Key.ID}
	jwt := b64.EncodeToString(encodeHeader(h)) + "." + b64.EncodeToString(encodeClaims(&c))
	jwt += "." + b64.EncodeToString(s.Key.MAC(nil, []byte(jwt)))
	seg := jwt
	if sid != "" {
		seg = sid + "." + jwt
	}
	return &Signed{Token: seg, SessionID: sid, Header: h, Claims: c}, nil
}

func orUndefined(s string) string {
	if s == "" {
		return "undefined"
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// headerValue finds a header case-insensitively.
func headerValue(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// sessionAlphabet is the SDK's alphabet for generated session ids.
const sessionAlphabet = "AaBbCcDdEeFfGgHhIiJjKkLlMmNnOoPpQqRrSsTtUuVvWwXxYyZz1234567890"

// sessionID draws n characters uniformly from sessionAlphabet.
func (s *Signer) sessionID(n int) (string, error) {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return "", fmt.Errorf("session id: %w", err)
		}
		for _, b := range buf {
			// 62*4 = 248: reject the top 8 values to stay uniform.
			if b < 248 && len(out) < n {
				out = append(out, sessionAlphabet[b%62])
			}
		}
	}
	return string(out), nil
}

// encodeHeader writes the header as the SDK's JWT library does.
func encodeHeader(h Header) []byte {
	b := []byte(`{"alg":`)
	b = appendJSString(b, h.Alg)
	b = append(b, `,"typ":`...)
	b = appendJSString(b, h.Typ)
	b = append(b, `,"kid":`...)
	b = appendJSString(b, h.Kid)
	return append(b, '}')
}

// encodeClaims writes the claims in the SDK's order: the fixed claims, then
// those added while signing, then iat from the JWT library.
func encodeClaims(c *Claims) []byte {
	b := make([]byte, 0, 256)
	field := func(name string) {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(appendJSString(b, name), ':')
	}
	boolean := func(name string, v bool) {
		field(name)
		b = strconv.AppendBool(b, v)
	}
	integer := func(name string, v int64) {
		field(name)
		b = strconv.AppendInt(b, v, 10)
	}
	list := func(name string, l []string) {
		field(name)
		b = append(b, '[')
		for i, s := range l {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSString(b, s)
		}
		b = append(b, ']')
	}
	b = append(b, '{')
	boolean("ip", c.IP)
	boolean("co", c.Country)
	boolean("cty", c.City)
	boolean("reg", c.Region)
	boolean("ssn", c.Session)
	integer("exp", c.Expiry)
	list("headers", c.Headers)
	list("qs", c.Query)
	if c.IntSig != "" {
		field("intsig")
		b = appendJSString(b, c.IntSig)
	}
	list("paths", c.Paths)
	list("exc", c.Exclusions)
	if c.IP {
		integer("ip_ver", int64(c.IPVersion))
	}
	if c.Country && c.CountryFallback {
		boolean("co_fallback", true)
	}
	if c.Region && c.RegionFallback {
		boolean("reg_fallback", true)
	}
	if c.HasNotBefore {
		integer("nbf", c.NotBefore)
	}
	if c.HasIssuedAt {
		integer("iat", c.IssuedAt)
	}
	return append(b, '}')
}

// appendJSString appends s as JavaScript's JSON.stringify writes it: only
// '"', '\\' and control characters are escaped (Go's encoding/json also
// escapes <, >, & and U+2028/9, which would change the bytes signed).
func appendJSString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= 0x20:
			b = append(b, c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
	}
	return append(b, '"')
}
