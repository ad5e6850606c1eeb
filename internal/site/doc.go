// Package site is smd's website, served by the edge at "/" on the same
// hostname as the API (/v1/) and the media: the demo page (players, the
// token request and the decoded token, binding toggles, revoke, share),
// the operator's dashboard behind a login with an admin API key, and
// their static files (embedded, vendored libraries included; nothing is
// loaded from elsewhere at run time).
//
// It talks to the control plane only through its HTTP API (package
// control/client, or the dashboard's forwarding of /v1/ calls with the
// logged-in operator's key), so it imports nothing of the control plane's
// internals, NATS or the edge's pipeline.
package site
