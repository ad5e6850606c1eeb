package site_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/smd-media/smd/internal/control/client"
	"github.com/smd-media/smd/internal/control/controltest"
	"github.com/smd-media/smd/internal/site"
	"github.com/smd-media/smd/token"
)

// env is a site in front of a real control API (controltest), with one
// demo asset.
type env struct {
	api  *controltest.Env
	srv  *httptest.Server
	site *site.Site
}

func newEnv(t *testing.T) *env {
	t.Helper()
	api := controltest.Start(t, controltest.Options{})
	admin, err := client.New(api.URL, api.Admin)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, js := range []string{
		`{"id":"demo_a","url_path":"/vod/demo-a/master.m3u8","endpoint_hostname":"127.0.0.1:1","token_policy":{"ssn":true,"paths":["/vod/demo-a/"],"exp":"+1h"}}`,
		`{"id":"other","url_path":"/vod/other/master.m3u8","endpoint_hostname":"127.0.0.1:1","token_policy":{"ssn":true,"paths":["/vod/other/"],"exp":"+1h"}}`,
	} {
		if _, err := admin.CreateAsset(ctx, []byte(js)); err != nil {
			t.Fatal(err)
		}
	}
	s, err := site.New(site.Config{
		Assets:     []site.Asset{{ID: "demo_a", Label: "A", Protocol: "hls", Dir: "/vod/demo-a/"}},
		API:        admin,
		APIHandler: api.API,
		Keys:       token.NewKeys(map[string]string{controltest.KID: controltest.Secret}),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &env{api: api, srv: srv, site: s}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) code() string {
	var e struct{ Error string }
	json.Unmarshal([]byte(a.body), &e)
	return e.Error
}

func do(t *testing.T, c *http.Client, method, u, body string, hdr ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// TestPages: the pages and static files, with their security headers;
// 404 elsewhere; 405 for a POST to a page.
func TestPages(t *testing.T) {
	e := newEnv(t)
	c := e.srv.Client()
	for _, tc := range []struct {
		path   string
		status int
		ctype  string
	}{
		{"/", 200, "text/html; charset=utf-8"},
		{"/dashboard", 200, "text/html; charset=utf-8"},
		{"/dashboard/", 200, "text/html; charset=utf-8"},
		{"/static/js/demo.js", 200, "text/javascript; charset=utf-8"},
		{"/dashboard/static/js/dash/app.js", 200, "text/javascript; charset=utf-8"},
		{"/dashboard/static/css/site.css", 200, "text/css; charset=utf-8"},
		{"/dashboard/static/nothing.js", 404, "application/json"},
		{"/static/css/site.css", 200, "text/css; charset=utf-8"},
		{"/static/vendor/dashjs/LICENSE", 200, "text/plain; charset=utf-8"},
		{"/static/vendor/VERSIONS.txt", 200, "text/plain; charset=utf-8"},
		{"/static/", 404, "application/json"},
		{"/static/../site.go", 404, "application/json"},
		{"/index.html", 404, "application/json"},
	} {
		a := do(t, c, "GET", e.srv.URL+tc.path, "")
		if a.status != tc.status || a.header.Get("Content-Type") != tc.ctype {
			t.Errorf("%s: %d %q", tc.path, a.status, a.header.Get("Content-Type"))
		}
		for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options"} {
			if a.header.Get(h) == "" {
				t.Errorf("%s: no %s", tc.path, h)
			}
		}
	}
	a := do(t, c, "GET", e.srv.URL+"/static/js/demo.js", "")
	if b := do(t, c, "GET", e.srv.URL+"/static/js/demo.js", "", "If-None-Match", a.header.Get("ETag")); b.status != 304 {
		t.Errorf("revalidation: %d", b.status)
	}
	if a := do(t, c, "POST", e.srv.URL+"/", "{}"); a.status != 405 || a.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d", a.status)
	}
}

// TestLogin: the dashboard's login checks the key against the API: an
// admin key logs in (HttpOnly, SameSite=Strict cookie on /dashboard),
// others are refused; the API forwarded with the login's key; state
// changes need the CSRF token and the site's origin; logout ends it.
func TestLogin(t *testing.T) {
	e := newEnv(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	u := e.srv.URL
	if a := do(t, c, "GET", u+"/dashboard/api/me", ""); a.status != 200 || !strings.Contains(a.body, `"logged_in":false`) {
		t.Fatalf("me before login: %d %s", a.status, a.body)
	}
	if a := do(t, c, "GET", u+"/dashboard/api/v1/keys", ""); a.status != 401 || a.code() != "login_required" {
		t.Errorf("API before login: %d %s", a.status, a.body)
	}
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"wrong key", `{"api_key":"smd_admin_` + strings.Repeat("x", 43) + `"}`, 401, "login_failed"},
		{"not a key", `{"api_key":"a b"}`, 401, "login_failed"},
		{"issuer key", `{"api_key":"` + e.api.Issuer + `"}`, 403, "admin_key_required"},
		{"reader key", `{"api_key":"` + e.api.Reader + `"}`, 403, "admin_key_required"},
		{"unknown member", `{"api_key":"x","more":1}`, 400, "invalid_json"},
		{"not JSON", `api_key=x`, 400, "invalid_json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, c, "POST", u+"/dashboard/api/login", tc.body)
			if a.status != tc.status || a.code() != tc.code || a.header.Get("Set-Cookie") != "" {
				t.Errorf("%d %s", a.status, a.body)
			}
		})
	}
	if a := do(t, c, "POST", u+"/dashboard/api/login", `{"api_key":"`+e.api.Admin+`"}`, "Origin", "https://evil.example"); a.status != 403 || a.code() != "cross_site" {
		t.Errorf("cross-site login: %d %s", a.status, a.body)
	}
	a := do(t, c, "POST", u+"/dashboard/api/login", `{"api_key":"`+e.api.Admin+`"}`, "Origin", u)
	if a.status != 200 {
		t.Fatalf("login: %d %s", a.status, a.body)
	}
	ck := a.header.Get("Set-Cookie")
	for _, want := range []string{"smd_dashboard=", "Path=/dashboard", "HttpOnly", "SameSite=Strict"} {
		if !strings.Contains(ck, want) {
			t.Errorf("cookie %q lacks %s", ck, want)
		}
	}
	if strings.Contains(a.body, e.api.Admin) || strings.Contains(ck, e.api.Admin) {
		t.Error("the key went back to the browser")
	}
	var me struct {
		LoggedIn bool   `json:"logged_in"`
		KeyID    string `json:"key_id"`
		CSRF     string `json:"csrf"`
	}
	json.Unmarshal([]byte(a.body), &me)
	if !me.LoggedIn || me.KeyID != "admin" || len(me.CSRF) < 40 {
		t.Fatalf("me %+v", me)
	}
	if a := do(t, c, "GET", u+"/dashboard/api/v1/keys", ""); a.status != 200 || !strings.Contains(a.body, `"state"`) {
		t.Errorf("forwarded GET: %d %s", a.status, a.body)
	}
	// State changes: CSRF token and origin.
	rotate := u + "/dashboard/api/v1/sessions/s1/revoke"
	if a := do(t, c, "POST", rotate, `{}`); a.status != 403 || a.code() != "csrf_token_invalid" {
		t.Errorf("no CSRF token: %d %s", a.status, a.body)
	}
	if a := do(t, c, "POST", rotate, `{}`, "X-CSRF-Token", me.CSRF+"x"); a.status != 403 {
		t.Errorf("wrong CSRF token: %d", a.status)
	}
	if a := do(t, c, "POST", rotate, `{}`, "X-CSRF-Token", me.CSRF, "Sec-Fetch-Site", "cross-site"); a.status != 403 || a.code() != "cross_site" {
		t.Errorf("cross-site: %d %s", a.status, a.body)
	}
	if a := do(t, c, "POST", rotate, `{"reason":"dash"}`, "X-CSRF-Token", me.CSRF, "Origin", u); a.status != 200 {
		t.Errorf("revoke: %d %s", a.status, a.body)
	}
	if r, ok, _ := e.api.Sessions.Get(context.Background(), "s1"); !ok || r.By != "apikey:admin" {
		t.Errorf("revocation %+v", r)
	}
	// Logout: the cookie is dropped and the login is gone server-side.
	su, _ := url.Parse(u + "/dashboard/")
	old := jar.Cookies(su)
	if a := do(t, c, "POST", u+"/dashboard/api/logout", "", "X-CSRF-Token", me.CSRF); a.status != 204 {
		t.Errorf("logout: %d", a.status)
	}
	replay := &http.Client{}
	req, _ := http.NewRequest("GET", u+"/dashboard/api/v1/keys", nil)
	for _, ck := range old {
		req.AddCookie(ck)
	}
	if resp, err := replay.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("the old cookie after logout: %v %v", resp.StatusCode, err)
	}
}

// TestDemoBackend: the binding toggles change only the demo's assets;
// revoke and why act only on tokens of the demo's assets that bind a
// session; bodies are strict JSON.
func TestDemoBackend(t *testing.T) {
	e := newEnv(t)
	c := e.srv.Client()
	u := e.srv.URL
	a := do(t, c, "GET", u+"/demo/api/config", "")
	if a.status != 200 || !strings.Contains(a.body, `"demo_a"`) || strings.Contains(a.body, `"other"`) {
		t.Fatalf("config: %d %s", a.status, a.body)
	}
	if a := do(t, c, "POST", u+"/demo/api/binding", `{"asset":"demo_a","binding":{"ip":true,"ua":true,"referer":false,"ssn":true}}`); a.status != 200 {
		t.Fatalf("binding: %d %s", a.status, a.body)
	}
	api, _ := client.New(e.api.URL, e.api.Admin)
	got, err := api.Asset(context.Background(), "demo_a")
	if err != nil || !got.TokenPolicy.IP || len(got.TokenPolicy.Headers) != 1 || got.TokenPolicy.Headers[0] != "user-agent" {
		t.Errorf("policy after the toggle: %+v %v", got.TokenPolicy, err)
	}
	for _, tc := range []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"another asset", "/demo/api/binding", `{"asset":"other","binding":{"ip":true,"ua":false,"referer":false,"ssn":true}}`, 404, "not_a_demo_asset"},
		{"unknown member", "/demo/api/binding", `{"asset":"demo_a","binding":{"ip":true},"x":1}`, 400, "invalid_json"},
		{"not a URL", "/demo/api/revoke", `{"playback_url":"nothing"}`, 400, "invalid_playback_url"},
		{"not a token", "/demo/api/revoke", `{"playback_url":"http://h/abc/vod/demo-a/master.m3u8"}`, 400, "invalid_playback_url"},
		{"why, not a token", "/demo/api/why", `{"playback_url":"http://h/a.b.c/x"}`, 400, "invalid_playback_url"},
		{"share, not a token", "/demo/api/share", `{"playback_url":"http://h/"}`, 503, "share_off"},
		{"unknown", "/demo/api/nothing", `{}`, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := do(t, c, "POST", u+tc.path, tc.body)
			if a.status != tc.status || a.code() != tc.code {
				t.Errorf("%d %s", a.status, a.body)
			}
		})
	}
	// A token of the demo's asset: revoked by its own session id.
	tok, err := api.Token(context.Background(), "demo_a", nil)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"playback_url":"` + tok.PlaybackURL + `"}`
	if a := do(t, c, "POST", u+"/demo/api/revoke", body, "Content-Type", "text/plain"); a.status != 415 {
		t.Errorf("text/plain: %d", a.status)
	}
	if a := do(t, c, "POST", u+"/demo/api/revoke", body, "Origin", "https://evil.example"); a.status != 403 {
		t.Errorf("cross-site revoke: %d", a.status)
	}
	if a := do(t, c, "POST", u+"/demo/api/revoke", body); a.status != 200 || !strings.Contains(a.body, tok.SessionID) {
		t.Errorf("revoke: %d %s", a.status, a.body)
	}
	if a := do(t, c, "POST", u+"/demo/api/why", body); a.status != 200 || !strings.Contains(a.body, `"reason":"revoked from the demo page's button"`) {
		t.Errorf("why: %d %s", a.status, a.body)
	}
	// A session id written in front of someone else's token is not
	// proven: nothing is revoked, and why says nothing of that session.
	victim := strings.Replace(tok.PlaybackURL, tok.SessionID+".", "victim1.", 1)
	if a := do(t, c, "POST", u+"/demo/api/revoke", `{"playback_url":"`+victim+`"}`); a.status != 403 || a.code() != "session_not_proven" {
		t.Errorf("forged session id: %d %s", a.status, a.body)
	}
	if a := do(t, c, "POST", u+"/demo/api/share", `{"playback_url":"`+victim+`"}`); a.status != 503 {
		t.Errorf("share without an edge: %d %s", a.status, a.body)
	}
	if _, revoked, _ := e.api.Sessions.Get(context.Background(), "victim1"); revoked {
		t.Error("the forged session was revoked")
	}
	if a := do(t, c, "POST", u+"/demo/api/why", `{"playback_url":"`+victim+`"}`); a.status != 200 || strings.Contains(a.body, "victim1") || !strings.Contains(a.body, `"revocation":null`) {
		t.Errorf("why of a forged session: %d %s", a.status, a.body)
	}
	// A token for another viewer (here: a User-Agent this client does not
	// send) proves nothing either.
	if a := do(t, c, "POST", u+"/demo/api/revoke", body, "User-Agent", "Other/1"); a.status != 403 || a.code() != "session_not_proven" {
		t.Errorf("another viewer's token: %d %s", a.status, a.body)
	}
	// A token of another asset is not the demo's to revoke.
	other, err := api.Token(context.Background(), "other", nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := do(t, c, "POST", u+"/demo/api/revoke", `{"playback_url":"`+other.PlaybackURL+`"}`); a.status != 403 || a.code() != "not_a_demo_asset" {
		t.Errorf("another asset's token: %d %s", a.status, a.body)
	}
}

// TestDashboardOff: without an API to call, the dashboard's endpoints say
// so (503), the login included.
func TestDashboardOff(t *testing.T) {
	s, err := site.New(site.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/dashboard/api/me", ""}, {"POST", "/dashboard/api/login", `{"api_key":"x"}`}, {"GET", "/dashboard/api/v1/keys", ""},
	} {
		if a := do(t, srv.Client(), tc.method, srv.URL+tc.path, tc.body); a.status != 503 || a.code() != "dashboard_off" {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, a.status, a.body)
		}
	}
	if a := do(t, srv.Client(), "GET", srv.URL+"/demo/api/config", ""); a.status != 503 || a.code() != "demo_off" {
		t.Errorf("demo config: %d %s", a.status, a.body)
	}
}
