// Package smde implements the token format of AWS's Secure Media Delivery
// at the Edge (SMDE v1.2.6): an HS256 JWT, optionally preceded by a session
// id, carried as the first segment of the media URL's path, with viewer
// attributes bound through an inner HMAC ("intsig").
//
// Signer issues tokens byte for byte as SMDE's Node SDK does. Verifier
// checks them as SMDE's edge function intends, without that function's
// gaps: paths are normalized before they are matched, the city binding is
// enforced, IPv6 addresses are expanded as the SDK expands them, only GET
// and HEAD pass, and every comparison of secrets is constant time. Parsing
// is strict: base64url without padding, RFC 8259 JSON without duplicate
// keys. The package does no I/O. docs/tokens.md describes the format and
// every choice in full.
package smde
