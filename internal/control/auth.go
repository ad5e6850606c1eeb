package control

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/smd-media/smd/internal/control/apikey"
)

// authorize checks the caller's API key against the route's access. For
// the public token endpoint it applies the rate limit instead (callers
// with a valid issuer key are exempt).
func (a *API) authorize(w http.ResponseWriter, r *http.Request, acc access) (*call, error) {
	if acc == public {
		return &call{}, nil
	}
	key, err := a.apiKey(r)
	if acc == tokenAccess && a.cfg.PublicTokenEndpoint {
		if err == nil && key != nil && key.Has(apikey.ScopeIssuer) {
			return &call{key: key}, nil
		}
		if err != nil && !errors.Is(err, errNoKey) {
			return nil, err // a key was sent and is bad: say so
		}
		ip, _ := a.viewers.Identify(r)
		if ok, wait := a.limiter.Allow(ip, a.now()); !ok {
			a.metrics.rateLimited.Inc()
			secs := int(wait.Seconds())
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			return nil, &Error{Status: http.StatusTooManyRequests, Code: codeRateLimited,
				Message: fmt.Sprintf("too many token requests from this address; retry in %ds", secs)}
		}
		return &call{key: key}, nil
	}
	if err != nil {
		return nil, err
	}
	if acc == anyKey {
		return &call{key: key}, nil
	}
	scope := apikey.ScopeRead
	switch acc {
	case scopeAdmin:
		scope = apikey.ScopeAdmin
	case tokenAccess:
		scope = apikey.ScopeIssuer
	}
	if !key.Has(scope) {
		return nil, forbidden(scope)
	}
	return &call{key: key}, nil
}

func forbidden(scope string) *Error {
	return &Error{Status: http.StatusForbidden, Code: codeScopeMissing, Message: "this API key lacks the " + scope + " scope"}
}

var errNoKey = &Error{Status: http.StatusUnauthorized, Code: codeKeyMissing,
	Message: `an API key is required: "Authorization: Bearer smd_<id>_<secret>"`}

// apiKey reads and checks the bearer token.
func (a *API) apiKey(r *http.Request) (*apikey.Key, error) {
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return nil, errNoKey
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	if len(h) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, &Error{Status: http.StatusUnauthorized, Code: codeKeyInvalid, Message: `want one "Authorization: Bearer smd_<id>_<secret>" header`}
	}
	k, err := a.keys.Authenticate(strings.TrimSpace(tok))
	if err != nil {
		a.metrics.authFailures.Inc()
		return nil, &Error{Status: http.StatusUnauthorized, Code: codeKeyInvalid, Message: "the API key is malformed, unknown or wrong"}
	}
	return k, nil
}

// WhoAmI is the answer of GET /v1/whoami: the calling key's id and
// scopes (the dashboard's login checks an admin key so).
type WhoAmI struct {
	KeyID  string   `json:"key_id"`
	Scopes []string `json:"scopes"`
}

func (a *API) whoami(w http.ResponseWriter, _ *http.Request, c *call) error {
	writeJSON(w, http.StatusOK, WhoAmI{KeyID: c.key.ID, Scopes: append([]string{}, c.key.Scopes...)})
	return nil
}
