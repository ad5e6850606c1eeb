package control

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smd-media/smd/internal/asset"
	"github.com/smd-media/smd/internal/viewer"
	"github.com/smd-media/smd/token/smde"
)

// tokenResponse is the answer of GET /v1/token, SMDE's /tokengenerate.
type tokenResponse struct {
	// PlaybackURL is the asset's URL with the token as first path segment.
	PlaybackURL string `json:"playback_url"`
	// TokenPolicy says what the token binds, for display.
	TokenPolicy boundSummary `json:"token_policy"`
	// SessionID is the bound session, "" when the policy binds none.
	SessionID string `json:"session_id,omitempty"`
	// ExpiresAt is the token's expiry.
	ExpiresAt time.Time `json:"expires_at"`
}

// boundSummary is SMDE's summary of the binding: whether the IP, user
// agent and referer are bound, and the values smd saw.
type boundSummary struct {
	IP           bool   `json:"ip"`
	IPValue      string `json:"ip_value"`
	UA           bool   `json:"ua"`
	UAValue      string `json:"ua_value"`
	Referer      bool   `json:"referer"`
	RefererValue string `json:"referer_value"`
}

// issueToken answers GET /v1/token?id=<asset>: a playback URL whose token
// binds the caller's attributes as the asset's policy says.
func (a *API) issueToken(w http.ResponseWriter, r *http.Request, _ *call) error {
	q := r.URL.Query()
	ids := q["id"]
	if len(ids) != 1 || !asset.ValidID(ids[0]) {
		return badRequest(codeInvalidID, "id", "id: want one asset id of 1-200 letters, digits or '_'")
	}
	id := ids[0]
	as, err := a.deps.Assets.Get(r.Context(), id)
	if err != nil {
		return assetError(id, err)
	}
	key, err := a.deps.Keys.Signing(r.Context())
	if err != nil || key == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: codeNoSigningKey, Message: "no signing key is available; try again", Err: err}
	}
	p := as.TokenPolicy // a copy; its lists are not modified
	ip, g := a.viewers.Identify(r)
	v := &smde.Viewer{Country: g.Country, Region: g.Region, City: g.City}
	if ip.IsValid() {
		v.IP = ip.String()
	}
	for _, f := range []struct {
		bound, fallback bool
		value, name     string
	}{
		{p.IP, false, v.IP, "IP address"},
		{p.Country, p.CountryFallback, v.Country, "country"},
		{p.Region, p.RegionFallback, v.Region, "region"},
		{p.City, false, v.City, "city"},
	} {
		if f.bound && !f.fallback && f.value == "" {
			return badRequest(codeViewerUnknown, "", "the asset's policy binds the viewer's %s, which smd cannot tell for this request", f.name)
		}
	}
	if len(p.Headers) > 0 {
		v.Headers = make(map[string]string, len(p.Headers))
		for _, h := range p.Headers {
			if val := r.Header.Get(h); val != "" {
				v.Headers[h] = val
			}
		}
	}
	// Bound query values travel in the playback URL, so that the edge
	// sees them on the manifest request.
	playback := as.PlaybackURL(a.playbackScheme(r))
	var bound url.Values
	for _, name := range p.QueryStrings {
		if vals, ok := q[name]; ok && name != "id" && len(vals) > 0 {
			if bound == nil {
				bound = url.Values{}
			}
			bound.Set(name, vals[0])
		}
	}
	if bound != nil {
		sep := "?"
		if strings.Contains(playback, "?") {
			sep = "&"
		}
		playback += sep + bound.Encode()
	}

	now := a.now()
	s := &smde.Signer{Key: key, Now: func() time.Time { return now }}
	u, signed, err := s.SignURL(&p, v, playback)
	if err != nil {
		return badRequest(codeCannotSign, "", "cannot issue a token for this asset and request: %v", err)
	}
	// Cap the lifetime: key retirement relies on no token outliving
	// MaxTokenLifetime.
	if limit := now.Add(a.cfg.MaxTokenLifetime).Unix(); signed.Claims.Expiry > limit {
		p.Expiry = smde.IntString(strconv.FormatInt(limit, 10))
		if u, signed, err = s.SignURL(&p, v, playback); err != nil {
			return internal(fmt.Errorf("re-sign with a capped expiry: %w", err))
		}
	}
	a.metrics.tokens.Inc()
	writeJSON(w, http.StatusOK, tokenResponse{
		PlaybackURL: u,
		TokenPolicy: boundSummary{
			IP: p.IP, IPValue: v.IP,
			UA: slices.Contains(p.Headers, "user-agent"), UAValue: r.Header.Get("User-Agent"),
			Referer: slices.Contains(p.Headers, "referer"), RefererValue: r.Header.Get("Referer"),
		},
		SessionID: signed.SessionID,
		ExpiresAt: time.Unix(signed.Claims.Expiry, 0).UTC(),
	})
	return nil
}

// playbackScheme is the configured scheme of playback URLs or, when none
// is, the scheme the viewer reached the edge by: X-Forwarded-Proto from a
// trusted proxy (the edge that forwards /v1/), else https when the
// request came over TLS and http when not.
func (a *API) playbackScheme(r *http.Request) string {
	if a.cfg.PlaybackScheme != "" {
		return a.cfg.PlaybackScheme
	}
	if peer := viewer.Peer(r.RemoteAddr); peer.IsValid() && a.viewers.IsTrusted(peer) {
		// The proxy nearest to the API appends the scheme it was reached
		// by last.
		if vals := r.Header.Values("X-Forwarded-Proto"); len(vals) > 0 {
			parts := strings.Split(vals[len(vals)-1], ",")
			switch p := strings.ToLower(strings.TrimSpace(parts[len(parts)-1])); p {
			case "http", "https":
				return p
			}
		}
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
