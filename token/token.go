// Package token defines what every smd token format shares: the view of a
// viewer's request that a token is checked against, the key ring it is
// checked with, the grant a valid token yields and the typed reasons an
// invalid one is refused.
//
// Formats live in sub-packages (token/smde for the JWT of AWS's Secure Media
// Delivery at the Edge; CTA-5007 Common Access Token later) and implement
// [Format]. Nothing in this package or its formats does I/O: callers hand in
// the request, the keys and the time.
package token

import (
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Format is one token format. A Format is safe for concurrent use.
type Format interface {
	// Name is the short, stable name of the format, e.g. "smde".
	Name() string
	// Verify checks the token carried by req against the keys. It returns
	// the grant on success, or an *Error carrying a [Reason].
	Verify(req *Request, keys KeyRing) (Grant, error)
}

// Request is the part of a viewer's HTTP request that a token can bind.
type Request struct {
	// Method is the HTTP method, e.g. "GET".
	Method string
	// Target is the request-target exactly as received (escaped path and
	// optional query): "/<token>/vod/m1/index.m3u8?user=42".
	Target string
	// Header holds the request headers, keyed in canonical form as net/http
	// keeps them.
	Header http.Header
	// IP is the viewer's address; IPv4-mapped IPv6 addresses count as IPv4.
	IP netip.Addr
	// Geo is where the viewer is, as far as the edge can tell.
	Geo Geo
	// Now is the time of the request.
	Now time.Time
}

// Geo is a viewer's location. An empty field means unknown.
type Geo struct {
	// Country is the ISO 3166-1 alpha-2 code, e.g. "FR".
	Country string
	// Region is the ISO 3166-2 subdivision code without the country, e.g. "IDF".
	Region string
	// City is the city name, e.g. "Paris".
	City string
}

// Key is one signing key. Use it by pointer; Secret must not change once
// the key is in use.
type Key struct {
	// ID names the key in tokens (the JWT "kid").
	ID string
	// Secret is the key material. For SMDE keys these are the UTF-8 bytes of
	// the secret string, not its hex decoding.
	Secret []byte

	macs sync.Pool // of *macState
}

// KeyRing finds keys by id. Implementations must return the same *Key for
// the same key material for as long as it is held, so that verifiers may
// cache results per key; a key that is replaced or removed must stop being
// returned.
type KeyRing interface {
	Lookup(id string) *Key
}

// Keys is a fixed KeyRing.
type Keys map[string]*Key

// Lookup implements [KeyRing].
func (k Keys) Lookup(id string) *Key { return k[id] }

// NewKeys builds a fixed KeyRing from id/secret pairs.
func NewKeys(secrets map[string]string) Keys {
	k := make(Keys, len(secrets))
	for id, s := range secrets {
		k[id] = &Key{ID: id, Secret: []byte(s)}
	}
	return k
}

// Grant is what a valid token allows.
type Grant struct {
	// OriginPath is the normalized path to fetch from the cache or origin,
	// with the token removed; it never contains the token.
	OriginPath string
	// RawQuery is the query string of the request, without '?', unchanged.
	RawQuery string
	// SessionID is the session id of the request, or "". It is an
	// identity only when SessionProven is true; otherwise it is the id
	// the request wrote, which anyone holding the token can choose.
	SessionID string
	// SessionProven is true when the token's signature covers SessionID:
	// the token binds a session and its binding (the SMDE intsig) matched
	// with this id, on this request or an earlier one with the same token.
	// It is false on an exc path whose binding did not match, and when a
	// geo fallback skipped the binding.
	SessionProven bool
	// KeyID is the id of the key that signed the token.
	KeyID string
	// Expires is when the token stops being valid.
	Expires time.Time
	// Excluded is true when the origin path matched one of the token's
	// exclusion prefixes, so the request was granted without the path and
	// viewer bindings (they are still tried, to prove the session).
	Excluded bool
}

// Interface guard.
var _ KeyRing = Keys(nil)
