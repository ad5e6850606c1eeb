package site

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// The dashboard's backend. An operator logs in with an admin API key;
// the site checks it against the API (GET /v1/whoami), keeps it in memory
// only, and hands the browser a random session id in an HttpOnly,
// SameSite=Strict cookie scoped to /dashboard. The page then calls the
// API through /dashboard/api/v1/..., which adds the operator's key; every
// state change must also carry the login's CSRF token in X-CSRF-Token
// and come from the site's own origin.

const (
	cookieName = "smd_dashboard"
	csrfHeader = "X-CSRF-Token"
	// maxLogins bounds the logins held; the oldest goes first.
	maxLogins = 1000
)

// login is one logged-in operator.
type login struct {
	key     string // the admin API key
	keyID   string
	csrf    string
	expires time.Time
}

// logins are the dashboard's logins, by session id.
type logins struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*login
}

func newLogins(ttl time.Duration) *logins {
	return &logins{ttl: ttl, now: time.Now, m: map[string]*login{}}
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// add stores a login and returns its session id.
func (l *logins) add(key, keyID string) (string, *login) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for id, in := range l.m {
		if now.After(in.expires) {
			delete(l.m, id)
		}
	}
	if len(l.m) >= maxLogins {
		var oldest string
		for id, in := range l.m {
			if oldest == "" || in.expires.Before(l.m[oldest].expires) {
				oldest = id
			}
		}
		delete(l.m, oldest)
	}
	id := randomToken()
	in := &login{key: key, keyID: keyID, csrf: randomToken(), expires: now.Add(l.ttl)}
	l.m[id] = in
	return id, in
}

// get returns the request's login, nil when it has none or it expired.
func (l *logins) get(r *http.Request) (string, *login) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return "", nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	in := l.m[c.Value]
	if in == nil {
		return "", nil
	}
	if l.now().After(in.expires) {
		delete(l.m, c.Value)
		return "", nil
	}
	return c.Value, in
}

func (l *logins) remove(id string) {
	l.mu.Lock()
	delete(l.m, id)
	l.mu.Unlock()
}

// sessionCookie is the login cookie; maxAge < 0 deletes it.
func sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: value, Path: "/dashboard", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
}

// me is the answer of GET /dashboard/api/me and of a login.
type me struct {
	// LoggedIn is false when the request has no login (the rest empty).
	LoggedIn bool   `json:"logged_in"`
	KeyID    string `json:"key_id,omitempty"`
	// CSRF is the token to send in X-CSRF-Token with every state change.
	CSRF string `json:"csrf,omitempty"`
	// Simulate says whether the simulate piracy button works here.
	Simulate bool `json:"simulate,omitempty"`
	// Demo says whether the demo page is served (smd demo).
	Demo bool `json:"demo"`
}

// loginRequest is the body of POST /dashboard/api/login.
type loginRequest struct {
	APIKey string `json:"api_key"`
}

func (s *Site) dashboardAPI(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/dashboard/api")
	if s.forward == nil {
		writeError(w, http.StatusServiceUnavailable, "dashboard_off", "the dashboard has no API to call")
		return
	}
	if p == "/login" {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "log in with POST")
			return
		}
		if s.sameOrigin(w, r) {
			s.login(w, r)
		}
		return
	}
	id, in := s.logins.get(r)
	if in == nil {
		if p == "/me" && r.Method == http.MethodGet {
			// Asked by every dashboard load: not an error, so that the
			// browser's console stays clean.
			writeJSON(w, http.StatusOK, me{Demo: s.cfg.API != nil})
			return
		}
		writeError(w, http.StatusUnauthorized, "login_required", "log in with an admin API key first")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// A state change: same origin and the login's CSRF token.
		if !s.sameOrigin(w, r) {
			return
		}
		got := r.Header.Get(csrfHeader)
		if subtle.ConstantTimeCompare([]byte(got), []byte(in.csrf)) != 1 {
			writeError(w, http.StatusForbidden, "csrf_token_invalid", "the "+csrfHeader+" header is missing or wrong; reload the dashboard")
			return
		}
	}
	route := r.Method + " " + p
	switch {
	case route == "GET /me":
		writeJSON(w, http.StatusOK, me{LoggedIn: true, KeyID: in.keyID, CSRF: in.csrf, Simulate: s.cfg.Simulate != nil, Demo: s.cfg.API != nil})
	case route == "POST /logout":
		s.logins.remove(id)
		http.SetCookie(w, sessionCookie(r, "", -1))
		w.WriteHeader(http.StatusNoContent)
	case route == "GET /metrics":
		s.metrics(w)
	case route == "POST /simulate":
		s.startSimulation(w)
	case route == "GET /simulate":
		writeJSON(w, http.StatusOK, s.simState.status())
	case strings.HasPrefix(p, "/v1/"):
		s.forward.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), loginKey{}, in)))
	default:
		writeError(w, http.StatusNotFound, "not_found", "no such dashboard endpoint")
	}
}

// login checks an admin API key against the API and starts a login.
func (s *Site) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if !readJSON(w, r, &req) {
		return
	}
	key := strings.TrimSpace(req.APIKey)
	if key == "" || len(key) > 512 || strings.ContainsAny(key, "\r\n\t ") {
		writeError(w, http.StatusUnauthorized, "login_failed", "that is not an API key")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), apiTimeout)
	defer cancel()
	who, status, err := s.whoami(ctx, key, r)
	switch {
	case err != nil:
		s.log.Error("site: login: the API did not answer", "err", err)
		writeError(w, http.StatusBadGateway, "api_unreachable", "the API did not answer; see smd's log")
		return
	case status == http.StatusUnauthorized:
		writeError(w, http.StatusUnauthorized, "login_failed", "the API key is unknown or wrong")
		return
	case status != http.StatusOK:
		writeError(w, http.StatusBadGateway, "api_error", fmt.Sprintf("the API answered %d", status))
		return
	case !slices.Contains(who.Scopes, "admin"):
		writeError(w, http.StatusForbidden, "admin_key_required", "the dashboard needs a key with the admin scope")
		return
	}
	id, in := s.logins.add(key, who.KeyID)
	http.SetCookie(w, sessionCookie(r, id, int(s.cfg.SessionTTL.Seconds())))
	writeJSON(w, http.StatusOK, me{LoggedIn: true, KeyID: in.keyID, CSRF: in.csrf, Simulate: s.cfg.Simulate != nil, Demo: s.cfg.API != nil})
}

// whoAmI is the API's answer of GET /v1/whoami.
type whoAmI struct {
	KeyID  string   `json:"key_id"`
	Scopes []string `json:"scopes"`
}

// whoami asks the API who key is; the status is the API's.
func (s *Site) whoami(ctx context.Context, key string, r *http.Request) (whoAmI, int, error) {
	var who whoAmI
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/v1/whoami", nil)
	if err != nil {
		return who, 0, err
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.Header.Set("Authorization", "Bearer "+key)
	rec := &recorder{header: http.Header{}}
	s.cfg.APIHandler.ServeHTTP(rec, req)
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	if rec.code == http.StatusOK {
		if err := json.Unmarshal(rec.body.Bytes(), &who); err != nil {
			return who, 0, fmt.Errorf("whoami: %w", err)
		}
	}
	return who, rec.code, nil
}

// recorder keeps a small in-process answer of the API.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	if r.body.Len()+len(b) > 64<<10 {
		return 0, errors.New("answer too large")
	}
	return r.body.Write(b)
}

// loginKey carries the login from dashboardAPI to the forwarder.
type loginKey struct{}

// newForwarder returns the handler of /dashboard/api/v1/...: the request
// rewritten to /v1/... with the login's key, handed to the API as the edge
// mounts it, in the process. Nothing else of the browser's request goes:
// no cookie, no CSRF token, no other header; bodies of at most 8 MiB.
func newForwarder(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, _ := r.Context().Value(loginKey{}).(*login)
		out := r.Clone(r.Context())
		out.URL.Path = strings.TrimPrefix(r.URL.Path, "/dashboard/api")
		out.URL.RawPath = ""
		out.RequestURI = out.URL.RequestURI()
		h := http.Header{}
		for _, k := range []string{"Content-Type", "Accept"} {
			if v := r.Header.Get(k); v != "" {
				h.Set(k, v)
			}
		}
		if in != nil {
			h.Set("Authorization", "Bearer "+in.key)
		}
		out.Header = h
		if out.Body != nil {
			out.Body = http.MaxBytesReader(w, out.Body, 8<<20)
		}
		api.ServeHTTP(w, out)
	})
}
