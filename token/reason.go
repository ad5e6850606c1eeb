package token

import (
	"errors"
	"net/http"
)

// Reason says why a request was refused. Reasons are stable, lower-case
// identifiers meant for access logs and metrics labels; they are never sent
// to the viewer.
type Reason string

// The reasons a token check can fail.
const (
	// ReasonMissing: the first path segment is not a token at all.
	ReasonMissing Reason = "missing"
	// ReasonMalformed: the token is not well formed (segments, base64url,
	// JSON, claim types, session id syntax).
	ReasonMalformed Reason = "malformed"
	// ReasonBadAlg: the signing algorithm is not accepted.
	ReasonBadAlg Reason = "bad_alg"
	// ReasonUnknownKID: no key with the token's key id is held.
	ReasonUnknownKID Reason = "unknown_kid"
	// ReasonBadSignature: the signature does not match.
	ReasonBadSignature Reason = "bad_signature"
	// ReasonExpired: the token's expiry has passed.
	ReasonExpired Reason = "expired"
	// ReasonNotYetValid: the token's not-before time has not come.
	ReasonNotYetValid Reason = "not_yet_valid"
	// ReasonBadPath: the origin path is invalid or escapes the root once
	// normalized.
	ReasonBadPath Reason = "bad_path"
	// ReasonPathNotAllowed: the origin path is outside the token's paths.
	ReasonPathNotAllowed Reason = "path_not_allowed"
	// ReasonIPVersionMismatch: the token binds an IPv4 (IPv6) address and the
	// viewer comes over IPv6 (IPv4).
	ReasonIPVersionMismatch Reason = "ip_version_mismatch"
	// ReasonGeoUnknown: the token binds the viewer's country, region or city
	// and the edge cannot tell it (and the token allows no fallback).
	ReasonGeoUnknown Reason = "geo_unknown"
	// ReasonBindingMismatch: the viewer attributes bound by the token (IP,
	// geo, session id, headers, query values) differ from the request's.
	ReasonBindingMismatch Reason = "binding_mismatch"
	// ReasonMethodNotAllowed: the method is not GET or HEAD.
	ReasonMethodNotAllowed Reason = "method_not_allowed"
)

// Reasons lists every reason, for metrics that want all labels up front.
var Reasons = []Reason{
	ReasonMissing, ReasonMalformed, ReasonBadAlg, ReasonUnknownKID,
	ReasonBadSignature, ReasonExpired, ReasonNotYetValid, ReasonBadPath,
	ReasonPathNotAllowed, ReasonIPVersionMismatch, ReasonGeoUnknown,
	ReasonBindingMismatch, ReasonMethodNotAllowed,
}

// Status is the HTTP status SMDE answers for the reason: 405 for a method
// that is not allowed, 401 for everything else.
func (r Reason) Status() int {
	if r == ReasonMethodNotAllowed {
		return http.StatusMethodNotAllowed
	}
	return http.StatusUnauthorized
}

// Error is a refused token. Detail is for operators' logs only: it never
// contains the token, a key or a secret, but it may name a claim or a
// request attribute.
type Error struct {
	Reason Reason
	Detail string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Detail == "" {
		return "token: " + string(e.Reason)
	}
	return "token: " + string(e.Reason) + ": " + e.Detail
}

// Reject returns an *Error for the reason with a fixed detail text.
func Reject(r Reason, detail string) *Error { return &Error{Reason: r, Detail: detail} }

// ReasonOf returns the reason carried by err, or "" when err is nil or not a
// token error.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
