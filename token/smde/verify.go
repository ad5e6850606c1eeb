package smde

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"sync/atomic"
	"time"

	"github.com/smd-media/smd/token"
)

// Options tune a Verifier.
type Options struct {
	// ClockSkew is how far exp and nbf may be overstepped, for edges whose
	// clocks drift from the issuer's. Default 0, as SMDE.
	ClockSkew time.Duration
	// CacheEntries bounds the cache of tokens whose signature has been
	// checked. 0 means DefaultCacheEntries; a negative value turns the
	// cache off.
	CacheEntries int
}

// DefaultCacheEntries is the default bound of the verified-token cache:
// one entry per active playback session, about 1 KiB each.
const DefaultCacheEntries = 100_000

// Verifier checks SMDE tokens. It is safe for concurrent use.
//
// Players ask for a new segment every few seconds with the same token, so
// the verifier remembers tokens whose signature it has checked (keyed by the
// whole token segment, so nothing can be added for a token without its valid
// signature, and bounded). A remembered token skips only base64, JSON and the
// signature; time, path and every viewer binding are checked on each request.
type Verifier struct {
	skew  time.Duration
	cache *cache
}

// NewVerifier returns a Verifier.
func NewVerifier(o Options) *Verifier {
	v := &Verifier{skew: o.ClockSkew}
	switch {
	case o.CacheEntries == 0:
		v.cache = newCache(DefaultCacheEntries)
	case o.CacheEntries > 0:
		v.cache = newCache(o.CacheEntries)
	}
	return v
}

// Name implements token.Format.
func (*Verifier) Name() string { return "smde" }

// verified is a JWT whose signature checked out under key.
type verified struct {
	key    *token.Key
	kid    string
	claims *Claims
	// lastInput is the last binding input whose HMAC matched the intsig:
	// HMAC is a pure function, so the same input matches again.
	lastInput atomic.Pointer[string]
	// proven is the session id that a request has proven with this JWT's
	// intsig, once one has. A JWT binds at most one session id (the
	// intsig covers it), so the first one proven is the only one: it
	// identifies the JWT's session on requests that prove nothing
	// themselves (an exc path, a session id written by someone else).
	proven atomic.Pointer[string]
}

// Verify implements token.Format. It follows SMDE_TOKEN.md's order:
// method, segment syntax, alg, kid, signature, exp/nbf, path normalization,
// exclusions, paths, IP version, intsig.
func (v *Verifier) Verify(req *token.Request, keys token.KeyRing) (token.Grant, error) {
	if req.Method != "GET" && req.Method != "HEAD" {
		return token.Grant{}, errMethod
	}
	seg, path, rawQuery, terr := SplitTarget(req.Target)
	if terr != nil {
		return token.Grant{}, terr
	}
	sid, jwt, terr := splitSession(seg)
	if terr != nil {
		return token.Grant{}, terr
	}
	// The cache is keyed by the JWT alone, so that every request with a
	// JWT shares what its signature check and its proven session taught,
	// whatever session id is written in front of it.
	var e *verified
	if v.cache != nil {
		e = v.cache.get(jwt)
		if e != nil && keys.Lookup(e.kid) != e.key {
			e = nil // the key was rotated out or replaced
		}
	}
	if e == nil {
		if e, terr = verifyJWT(jwt, keys); terr != nil {
			return token.Grant{}, terr
		}
		if v.cache != nil {
			v.cache.put(jwt, e)
		}
	}
	if sid != "" && !e.claims.Session {
		return token.Grant{}, errUnboundSess
	}
	return v.check(req, e, sid, path, rawQuery)
}

// splitSession splits a token segment into its session id ("" when there
// is none) and its JWT, checking the segment's shape: 3 parts or 4, only
// base64url characters, a valid session id.
func splitSession(seg string) (sid, jwt string, terr *token.Error) {
	if len(seg) > MaxSegment {
		return "", "", errSegmentLen
	}
	switch strings.Count(seg, ".") {
	case 2:
		return "", seg, nil
	case 3:
		i := strings.IndexByte(seg, '.')
		if sid = seg[:i]; !ValidSessionID(sid) {
			return "", "", errSessionID
		}
		return sid, seg[i+1:], nil
	}
	return "", "", errSegment
}

var errMethod = token.Reject(token.ReasonMethodNotAllowed, "method is not GET or HEAD")

// verifyJWT parses a JWT (without session id) and checks its signature.
func verifyJWT(jwt string, keys token.KeyRing) (*verified, *token.Error) {
	t, terr := parse(jwt)
	if terr != nil {
		return nil, terr
	}
	if t.Header.Alg != "HS256" {
		return nil, errBadAlg
	}
	key := keys.Lookup(t.Header.Kid)
	if key == nil {
		return nil, errUnknownKID
	}
	if len(t.signature) != sha256.Size {
		return nil, errSigLen
	}
	if !key.VerifyMACString(t.signingInput, t.signature) {
		return nil, errBadSig
	}
	if terr = t.parseClaims(); terr != nil {
		return nil, terr
	}
	return &verified{key: key, kid: t.Header.Kid, claims: t.Claims}, nil
}

var (
	errExpired     = token.Reject(token.ReasonExpired, "exp has passed")
	errNotYet      = token.Reject(token.ReasonNotYetValid, "nbf has not come")
	errBadPath     = token.Reject(token.ReasonBadPath, "origin path invalid or escapes the root")
	errNotAllowed  = token.Reject(token.ReasonPathNotAllowed, "origin path matches no token path")
	errIPVersion   = token.Reject(token.ReasonIPVersionMismatch, "viewer IP family differs from ip_ver")
	errNoIP        = token.Reject(token.ReasonBindingMismatch, "ip is bound but the viewer IP is unknown")
	errNoCountry   = token.Reject(token.ReasonGeoUnknown, "country is bound but unknown")
	errNoRegion    = token.Reject(token.ReasonGeoUnknown, "region is bound but unknown")
	errNoCity      = token.Reject(token.ReasonGeoUnknown, "city is bound but unknown")
	errNoSession   = token.Reject(token.ReasonBindingMismatch, "session is bound but the path has no session id")
	errNoIntSigSet = token.Reject(token.ReasonBindingMismatch, "request carries bound attributes the token has no intsig for")
)

// check judges a signature-checked token against one request whose
// path carries the session id sid ("" when none).
//
// On an exc path the token grants the object on its signature and times
// alone, so the session id in front of it is not proven by that: anyone
// holding a token can write any id there. The bindings are still checked
// (a player's own requests prove its session there too), but their
// failure does not refuse the request; it leaves the session unproven.
func (v *Verifier) check(req *token.Request, e *verified, sid, path, rawQuery string) (token.Grant, error) {
	c := e.claims
	if !req.Now.Before(time.Unix(c.Expiry, 0).Add(v.skew)) {
		return token.Grant{}, errExpired
	}
	if c.HasNotBefore && req.Now.Before(time.Unix(c.NotBefore, 0).Add(-v.skew)) {
		return token.Grant{}, errNotYet
	}
	origin, err := token.NormalizePath(path)
	if err != nil {
		return token.Grant{}, errBadPath
	}
	g := token.Grant{
		OriginPath: origin,
		RawQuery:   rawQuery,
		KeyID:      e.kid,
		Expires:    time.Unix(c.Expiry, 0),
		Excluded:   hasPrefix(origin, c.Exclusions),
	}
	if !g.Excluded && !hasPrefix(origin, c.Paths) {
		return token.Grant{}, errNotAllowed
	}
	proven, terr := checkBindings(req, e, sid, rawQuery)
	if terr != nil && !g.Excluded {
		return token.Grant{}, terr
	}
	switch {
	case proven:
		g.SessionID, g.SessionProven = sid, true
		if e.proven.Load() == nil {
			id := strings.Clone(sid) // sid may point into a whole request line
			e.proven.Store(&id)
		}
	case c.Session && e.proven.Load() != nil:
		// Proven by an earlier request with this JWT: that session is the
		// JWT's, whatever this request wrote in front of it.
		g.SessionID, g.SessionProven = *e.proven.Load(), true
	default:
		g.SessionID = sid
	}
	return g, nil
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// checkBindings rebuilds the binding input from the request and compares
// its HMAC with the intsig in constant time. proven is true when the
// token binds a session and the HMAC covered the session id sid: a
// fallback that skips the binding proves nothing.
func checkBindings(req *token.Request, e *verified, sid, rawQuery string) (proven bool, terr *token.Error) {
	c := e.claims
	var buf [512]byte
	in := buf[:0]
	if c.IP {
		if !req.IP.IsValid() {
			return false, errNoIP
		}
		a := viewerAddr(req.IP)
		if ipVersion(a) != c.IPVersion {
			return false, errIPVersion
		}
		in = append(appendIP(in, a), ':')
	}
	if c.Country {
		if req.Geo.Country == "" {
			if c.CountryFallback {
				// SMDE's documented fallback: the country is part of
				// the signed input, so nothing after it can be checked.
				return false, nil
			}
			return false, errNoCountry
		}
		in = appendAttr(in, req.Geo.Country)
	}
	if c.City {
		if req.Geo.City == "" {
			return false, errNoCity
		}
		in = appendAttr(in, req.Geo.City)
	}
	if c.Region {
		if req.Geo.Region == "" {
			if c.RegionFallback {
				return false, nil // as for the country, above
			}
			return false, errNoRegion
		}
		in = appendAttr(in, req.Geo.Region)
	}
	if c.Session {
		if sid == "" {
			return false, errNoSession
		}
		in = appendAttr(in, sid)
	}
	for _, k := range c.headerKeys {
		if vs := req.Header[k]; len(vs) > 0 && vs[0] != "" {
			in = appendAttr(in, vs[0])
		}
	}
	for _, name := range c.Query {
		if val, ok := queryValue(rawQuery, name); ok {
			in = appendAttr(in, val)
		}
	}
	in = finishInput(in)
	if c.intsig == nil {
		// No intsig: the token was issued with nothing bound, or with
		// bound headers or query values that the viewer did not have.
		// The request must not have them either.
		// (A bound session always has an intsig: its id is never empty.)
		if len(in) > 0 {
			return false, errNoIntSigSet
		}
		return false, nil
	}
	// The memo holds another viewer's attributes when a token is shared:
	// compare in constant time so timing tells nothing about them.
	if last := e.lastInput.Load(); last != nil && subtle.ConstantTimeCompare([]byte(*last), in) == 1 {
		return c.Session, nil
	}
	if !e.key.VerifyMAC(in, c.intsig) {
		// Name what the token binds, so that an operator can tell an
		// address change from another browser; the values stay private.
		return false, token.Reject(token.ReasonBindingMismatch,
			"intsig does not match the request; the token binds "+strings.Join(c.Bound(), ", ")+" (values not shown)")
	}
	s := string(in)
	e.lastInput.Store(&s)
	return c.Session, nil
}

// Interface guard.
var _ token.Format = (*Verifier)(nil)
