// Package reqsign signs and verifies HTTP requests with HMAC-SHA256, so
// that a control plane behind an edge accepts only the requests the edge
// forwarded, unaltered and fresh. It is smd's counterpart of the SigV4
// signing that SMDE's Lambda@Edge does in front of API Gateway.
//
// The signer adds three headers:
//
//	X-Smd-Date:           2026-01-02T15:04:05Z            (UTC, RFC 3339, seconds)
//	X-Smd-Content-Sha256: <hex SHA-256 of the body>       (of the empty string for no body)
//	X-Smd-Signature:      keyId=<id>,sig=<hex HMAC-SHA256>
//
// The HMAC, keyed with the shared secret of keyId, covers the canonical
// string (lines joined with "\n"):
//
//	SMD-HMAC-SHA256
//	<method>
//	<escaped path>
//	<canonical query: pairs sorted by name then value, each part escaped as RFC 3986 says>
//	<X-Smd-Date>
//	<X-Smd-Content-Sha256>
//	<keyId>
//
// The contract: a [Verifier] rejects a request that lacks a signature,
// names an unknown key, was signed more than MaxSkew from its clock (in the
// past or the future), whose body is larger than MaxBody, or whose method,
// path, query, date, body or key id differs from what was signed.
// Signatures and digests are compared in constant time; secrets never
// appear in errors. A signature can be replayed within MaxSkew: requests
// that must not be repeated need their own idempotency.
package reqsign
