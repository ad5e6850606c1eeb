package smde

import (
	"strings"

	"github.com/smd-media/smd/token"
)

// Limits of the token segment.
const (
	// MaxSegment bounds the first path segment (session id + JWT). Tokens
	// of SMDE's SDK are 300 to 900 bytes; 16 KiB leaves room for long path
	// lists while keeping a hostile request cheap to refuse.
	MaxSegment = 16 << 10
	// minJWT is the length under which SMDE's validator refuses a JWT.
	minJWT = 60
	// MaxSessionID is the longest session id SMDE's API accepts.
	MaxSessionID = 200
)

// Token is a decoded SMDE token. Parse yields one without checking the
// signature; only Verifier.Verify says whether it is valid.
type Token struct {
	// SessionID is the session id before the JWT, or "".
	SessionID string
	Header    Header
	Claims    *Claims

	signingInput string // "header.payload"
	signature    []byte
}

// SplitTarget splits a request-target into the token segment, the escaped
// origin path that follows it (starting with '/') and the raw query.
func SplitTarget(target string) (segment, path, rawQuery string, err *token.Error) {
	if i := strings.IndexByte(target, '?'); i >= 0 {
		target, rawQuery = target[:i], target[i+1:]
	}
	if len(target) < 2 || target[0] != '/' {
		return "", "", "", errNoToken
	}
	rest := target[1:]
	i := strings.IndexByte(rest, '/')
	if i < 0 {
		// "/<token>" alone has no origin path (SMDE: "No token is present").
		if strings.IndexByte(rest, '.') < 0 {
			return "", "", "", errNoToken
		}
		return "", "", "", errNoPath
	}
	segment, path = rest[:i], rest[i:]
	if strings.IndexByte(segment, '.') < 0 {
		return "", "", "", errNoToken
	}
	return segment, path, rawQuery, nil
}

var (
	errNoToken     = token.Reject(token.ReasonMissing, "first path segment is not a token")
	errNoPath      = token.Reject(token.ReasonMalformed, "no origin path after the token")
	errSegment     = token.Reject(token.ReasonMalformed, "token segment is not sessionid.header.payload.signature")
	errSegmentLen  = token.Reject(token.ReasonMalformed, "token segment too long")
	errShortJWT    = token.Reject(token.ReasonMalformed, "JWT shorter than 60 characters")
	errSessionID   = token.Reject(token.ReasonMalformed, "session id is not 1-200 letters, digits or '_'")
	errB64         = token.Reject(token.ReasonMalformed, "token part is not strict base64url")
	errSigLen      = token.Reject(token.ReasonMalformed, "signature is not 32 bytes")
	errBadAlg      = token.Reject(token.ReasonBadAlg, "alg is not HS256")
	errUnknownKID  = token.Reject(token.ReasonUnknownKID, "no key with this kid")
	errBadSig      = token.Reject(token.ReasonBadSignature, "signature mismatch")
	errUnboundSess = token.Reject(token.ReasonMalformed, "session id in path but the token binds none")
)

// Parse decodes a token segment ("[sessionid.]header.payload.signature")
// strictly, without checking its signature or any claim against a request.
func Parse(segment string) (*Token, error) {
	t, terr := parse(segment)
	if terr != nil {
		return nil, terr
	}
	if terr = t.parseClaims(); terr != nil {
		return nil, terr
	}
	return t, nil
}

// LooksLikeToken reports whether a first path segment has the shape of a
// token ([sessionid.]header.payload.signature of base64url, the JWT at
// least 60 characters), without decoding it. An edge uses it to tell a
// token from a directory name such as "v1.2" on routes that do not
// require tokens.
func LooksLikeToken(seg string) bool {
	if len(seg) < minJWT || len(seg) > MaxSegment {
		return false
	}
	dots, last := 0, 0
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c == '.' {
			dots++
			if i == last {
				return false // empty part
			}
			last = i + 1
		} else if !isB64URL(c) {
			return false
		}
	}
	return (dots == 2 || dots == 3) && last < len(seg)
}

// parse splits and decodes the segment up to, not including, the claims.
func parse(segment string) (*Token, *token.Error) {
	if len(segment) > MaxSegment {
		return nil, errSegmentLen
	}
	var dots [3]int
	n := 0
	for i := 0; i < len(segment); i++ {
		c := segment[i]
		switch {
		case c == '.':
			if n == len(dots) {
				return nil, errSegment
			}
			dots[n] = i
			n++
		case !isB64URL(c):
			return nil, errSegment
		}
	}
	t := &Token{}
	jwt := segment
	switch n {
	case 2:
	case 3:
		t.SessionID, jwt = segment[:dots[0]], segment[dots[0]+1:]
		if !ValidSessionID(t.SessionID) {
			return nil, errSessionID
		}
	default:
		return nil, errSegment
	}
	if len(jwt) < minJWT {
		return nil, errShortJWT
	}
	d1 := strings.IndexByte(jwt, '.')
	d2 := strings.LastIndexByte(jwt, '.')
	hdr, err := decodePart(jwt[:d1])
	if err != nil {
		return nil, err
	}
	if t.Header, err = parseHeaderErr(hdr); err != nil {
		return nil, err
	}
	if t.signature, err = decodePart(jwt[d2+1:]); err != nil {
		return nil, err
	}
	t.signingInput = jwt[:d2]
	return t, nil
}

// parseClaims decodes and reads the payload into t.Claims.
func (t *Token) parseClaims() *token.Error {
	payload, terr := decodePart(t.signingInput[strings.IndexByte(t.signingInput, '.')+1:])
	if terr != nil {
		return terr
	}
	c, err := ParseClaims(payload)
	if err != nil {
		return token.Reject(token.ReasonMalformed, "claims: "+err.Error())
	}
	t.Claims = c
	return nil
}

func parseHeaderErr(b []byte) (Header, *token.Error) {
	h, err := parseHeader(b)
	if err != nil {
		return h, token.Reject(token.ReasonMalformed, "header: "+err.Error())
	}
	return h, nil
}

func decodePart(s string) ([]byte, *token.Error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, errB64
	}
	return b, nil
}

func isB64URL(c byte) bool { return b64URL[c] }

// b64URL marks the bytes of the base64url alphabet: one load per byte
// instead of five comparisons (LooksLikeToken and parse scan every byte of
// every request's token; measured in internal/edge's BenchmarkServeHit).
var b64URL = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
	}
	return t
}()

// ValidSessionID reports whether s is a session id in SMDE's syntax:
// ^\w+$ (ASCII letters, digits, '_') within MaxSessionID bytes. Such ids
// are also valid NATS KV keys. Every part of smd that takes a session id
// (the edge, the API, the revoked sets, the detector) checks it with this.
func ValidSessionID(s string) bool {
	if len(s) == 0 || len(s) > MaxSessionID {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !SessionIDByte(s[i]) {
			return false
		}
	}
	return true
}

// SessionIDByte reports whether c may be in a session id.
func SessionIDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}
