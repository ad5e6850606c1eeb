// Package control is smd's control-plane HTTP API: the token API
// (SMDE's /tokengenerate: GET /v1/token), assets, session revocations,
// signing keys and live edges, with API-key authentication, per-client
// rate limiting of a public token endpoint, optional HMAC request
// signatures (package reqsign) from an edge in front, Prometheus metrics,
// and its OpenAPI 3 document at /v1/openapi.json.
//
// The contract:
//
//   - [New] builds an [API] (an http.Handler) from a [Config] and [Deps];
//     the caller owns the listener and mounts the handler at "/" (its
//     routes all start with /v1/).
//   - Every error answer is JSON {"error": "<reason code>", "message":
//     "...", "field": "..."} with a stable reason code (see docs/api.md);
//     messages never contain secrets or tokens, and causes of 5xx answers
//     go to the log, not to the client.
//   - Management endpoints need an API key ("Authorization: Bearer
//     smd_<id>_<secret>") with scope read (reads) or admin (writes, key
//     secrets); GET /v1/token needs scope issuer unless
//     Config.PublicTokenEndpoint is set, and is then rate-limited per
//     client IP. 401 for a missing or bad key, 403 for a missing scope.
//   - The state lives behind small interfaces ([Assets], [Sessions],
//     [Keys]) declared here, so that the package does not depend on how
//     it is stored.
package control
