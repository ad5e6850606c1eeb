package site

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// The demo page's backend: what the page may do without a login, on its
// own assets only. It holds an admin key, as an operator's backend would;
// the page never sees it.

// binding is the part of an asset's token policy the page toggles.
type binding struct {
	IP      bool `json:"ip"`
	UA      bool `json:"ua"`
	Referer bool `json:"referer"`
	Session bool `json:"ssn"`
}

// demoAsset is an asset on the page: how it plays and what it binds.
type demoAsset struct {
	Asset
	Binding binding `json:"binding"`
	// URLPath is the asset's manifest path.
	URLPath string `json:"url_path"`
}

// demoConfig is the answer of GET /demo/api/config.
type demoConfig struct {
	Assets []demoAsset `json:"assets"`
	// Share says whether the share demo is available.
	Share bool `json:"share"`
}

// apiTimeout bounds every call of the site to the API.
const apiTimeout = 10 * time.Second

func (s *Site) demoAPI(w http.ResponseWriter, r *http.Request) {
	if s.cfg.API == nil {
		writeError(w, http.StatusServiceUnavailable, "demo_off", "the demo's backend is not configured")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	p := strings.TrimPrefix(r.URL.Path, "/demo/api")
	route := r.Method + " " + p
	if strings.HasPrefix(p, "/share/") && r.Method == http.MethodGet {
		route = "GET /share/{id}"
	}
	switch route {
	case "GET /config":
		s.demoConfig(ctx, w)
	case "POST /binding":
		if s.sameOrigin(w, r) {
			s.setBinding(ctx, w, r)
		}
	case "POST /revoke":
		if s.sameOrigin(w, r) {
			s.revokeShown(ctx, w, r)
		}
	case "POST /share":
		if s.sameOrigin(w, r) {
			s.startShare(w, r)
		}
	case "POST /why":
		if s.sameOrigin(w, r) {
			s.why(ctx, w, r)
		}
	case "GET /share/{id}":
		s.shareStatus(w, strings.TrimPrefix(p, "/share/"))
	default:
		writeError(w, http.StatusNotFound, "not_found", "no such demo endpoint")
	}
}

func (s *Site) demoConfig(ctx context.Context, w http.ResponseWriter) {
	c := demoConfig{Assets: []demoAsset{}, Share: s.cfg.Edge != ""}
	for _, a := range s.cfg.Assets {
		as, err := s.cfg.API.Asset(ctx, a.ID)
		if err != nil {
			s.apiFailed(w, "read the demo's assets", err)
			return
		}
		p := &as.TokenPolicy
		c.Assets = append(c.Assets, demoAsset{Asset: a, URLPath: as.URLPath, Binding: binding{
			IP: p.IP, UA: slices.Contains(p.Headers, "user-agent"), Referer: slices.Contains(p.Headers, "referer"), Session: p.Session,
		}})
	}
	writeJSON(w, http.StatusOK, c)
}

// bindingRequest is the body of POST /demo/api/binding.
type bindingRequest struct {
	Asset   string  `json:"asset"`
	Binding binding `json:"binding"`
}

// setBinding changes what a demo asset's tokens bind: the IP address, the
// User-Agent and Referer headers, a session. Tokens issued before keep
// their binding; the page asks for a new one.
func (s *Site) setBinding(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	var req bindingRequest
	if !readJSON(w, r, &req) {
		return
	}
	if _, ok := s.assets[req.Asset]; !ok {
		writeError(w, http.StatusNotFound, "not_a_demo_asset", "the demo page changes only its own assets")
		return
	}
	as, err := s.cfg.API.Asset(ctx, req.Asset)
	if err != nil {
		s.apiFailed(w, "read the asset", err)
		return
	}
	p := &as.TokenPolicy
	p.IP, p.Session = req.Binding.IP, req.Binding.Session
	headers := slices.DeleteFunc(slices.Clone(p.Headers), func(h string) bool { return h == "user-agent" || h == "referer" })
	if req.Binding.UA {
		headers = append(headers, "user-agent")
	}
	if req.Binding.Referer {
		headers = append(headers, "referer")
	}
	p.Headers = headers
	js, err := json.Marshal(as)
	if err != nil {
		s.apiFailed(w, "encode the asset", err)
		return
	}
	if _, err := s.cfg.API.UpdateAsset(ctx, req.Asset, js); err != nil {
		s.apiFailed(w, "update the asset", err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

// playbackRequest is the body of the endpoints that act on the token the
// page plays (revoke, why, share): its playback URL.
type playbackRequest struct {
	PlaybackURL string `json:"playback_url"`
}

// revokeResponse is the answer of POST /demo/api/revoke.
type revokeResponse struct {
	SessionID string `json:"session_id"`
	Reason    string `json:"reason"`
}

// demoRevokeReason is the reason the page's revocations carry.
const demoRevokeReason = "revoked from the demo page's button"

// revokeShown revokes the session of the token the page shows, for an
// hour (the demo's tokens live two). The session id is read from the
// token (the page can only name a session it holds a token of), and the
// token's paths must be one of the demo's assets'.
func (s *Site) revokeShown(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	t, _, _, ok := s.demoToken(w, r, true)
	if !ok {
		return
	}
	id := t.SessionID
	if _, err := s.cfg.API.Revoke(ctx, id, demoRevokeReason, time.Hour); err != nil {
		s.apiFailed(w, "revoke the session", err)
		return
	}
	writeJSON(w, http.StatusOK, revokeResponse{SessionID: id, Reason: demoRevokeReason})
}

// demoToken reads a playbackRequest and returns the URL's token, its
// segment and whether this request proves its session, when the token
// parses, grants only demo assets' paths and (if needSession) proves a
// session; it answers the error itself otherwise.
func (s *Site) demoToken(w http.ResponseWriter, r *http.Request, needSession bool) (*smde.Token, string, bool, bool) {
	var req playbackRequest
	if !readJSON(w, r, &req) {
		return nil, "", false, false
	}
	seg, err := tokenSegment(req.PlaybackURL)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_playback_url", err.Error())
		return nil, "", false, false
	}
	t, err := smde.Parse(seg)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_playback_url", "the playback URL's token does not parse: "+err.Error())
		return nil, "", false, false
	}
	if needSession && t.SessionID == "" {
		writeError(w, http.StatusConflict, "no_session", "this token binds no session: turn session binding on and get a new token")
		return nil, "", false, false
	}
	if !s.grantsDemoAsset(t) {
		writeError(w, http.StatusForbidden, "not_a_demo_asset", "the demo page acts only on tokens of its own assets")
		return nil, "", false, false
	}
	proven := s.proves(r, req.PlaybackURL, t.SessionID)
	if needSession && !proven {
		writeError(w, http.StatusForbidden, "session_not_proven",
			"this token does not play for this browser (expired, or bound to another viewer), so it proves no session here")
		return nil, "", false, false
	}
	return t, seg, proven, true
}

// proves reports whether the request proves session id as the edge would
// for a media request of this browser: the playback URL's token verifies
// against the edge's keys, bound to this viewer, and its signature covers
// the id (a session id written in front of someone else's token does
// not).
func (s *Site) proves(r *http.Request, playback, id string) bool {
	if s.cfg.Keys == nil || id == "" {
		return false
	}
	u, err := url.Parse(playback)
	if err != nil {
		return false
	}
	ip, g := s.cfg.Viewers.Identify(r)
	grant, err := s.verifier.Verify(&token.Request{Method: http.MethodGet, Target: u.RequestURI(), Header: r.Header,
		IP: ip, Geo: g, Now: time.Now()}, s.cfg.Keys)
	return err == nil && grant.SessionProven && grant.SessionID == id
}

// grantsDemoAsset reports whether every path the token grants is the
// directory of one of the demo's assets.
func (s *Site) grantsDemoAsset(t *smde.Token) bool {
	if t.Claims == nil || len(t.Claims.Paths) == 0 {
		return false
	}
	for _, p := range t.Claims.Paths {
		if !slices.ContainsFunc(s.cfg.Assets, func(a Asset) bool { return a.Dir == p }) {
			return false
		}
	}
	return true
}

// apiFailed answers a failed API call: the API's own error when it gave
// one (its codes and messages hold no secret), else 502.
func (s *Site) apiFailed(w http.ResponseWriter, what string, err error) {
	var ae *client.Error
	if errors.As(err, &ae) {
		writeError(w, ae.Status, ae.Code, "could not "+what+": "+ae.Message)
		return
	}
	s.log.Error("site: API call failed", "what", what, "err", err)
	writeError(w, http.StatusBadGateway, "api_unreachable", "could not "+what+": the API did not answer; see smd's log")
}

// whyResponse is the answer of POST /demo/api/why: what the page needs to
// say why the edge refused its token.
type whyResponse struct {
	// SessionID is the token's session, when this browser proves it.
	SessionID string `json:"session_id,omitempty"`
	// Revocation is the session's revocation, if it is revoked.
	Revocation *control.Revocation `json:"revocation"`
	// Expired says the token's exp has passed.
	Expired bool `json:"expired"`
	// Viewer is this browser as the site sees it: the address and
	// User-Agent a token must be bound to, to play here.
	Viewer struct {
		IP        string `json:"ip"`
		UserAgent string `json:"user_agent"`
	} `json:"viewer"`
}

// why tells the page why its token may have been refused: revoked,
// expired, or bound to another viewer than this browser.
func (s *Site) why(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	t, _, proven, ok := s.demoToken(w, r, false)
	if !ok {
		return
	}
	var out whyResponse
	out.Expired = time.Now().After(t.Claims.ExpiresAt())
	ip, _ := s.cfg.Viewers.Identify(r)
	out.Viewer.IP = ip.String()
	out.Viewer.UserAgent = r.Header.Get("User-Agent")
	// A session's revocation (its evidence names other viewers) only for
	// a session this browser proves.
	if proven {
		out.SessionID = t.SessionID
		rev, err := s.cfg.API.Revocation(ctx, t.SessionID)
		var ae *client.Error
		switch {
		case err == nil:
			out.Revocation = &rev
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		default:
			s.apiFailed(w, "read the session's revocation", err)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}
