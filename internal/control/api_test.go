package control_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/control/controltest"
	"github.com/smd-media/smd/internal/fleet"
)

const m1 = `{"id":"m1","url_path":"/vod/m1/index.m3u8","endpoint_hostname":"cdn.example.com",
 "token_policy":{"ip":true,"headers":["user-agent"],"paths":["/vod/m1/"],"exp":"+2h"}}`

func TestAuth(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name, method, path, key, body string
		headers                       []string
		status                        int
		code                          string
	}{
		{"no key", "GET", "/v1/assets", "", "", nil, 401, "api_key_missing"},
		{"wrong secret", "GET", "/v1/assets", flipLast(e.admin), "", nil, 401, "api_key_invalid"},
		{"unknown id", "GET", "/v1/assets", "smd_nobody_" + strings.Repeat("a", 64), "", nil, 401, "api_key_invalid"},
		{"malformed token", "GET", "/v1/assets", "hello", "", nil, 401, "api_key_invalid"},
		{"basic scheme", "GET", "/v1/assets", "", "", []string{"Authorization: Basic " + e.admin}, 401, "api_key_invalid"},
		{"two headers", "GET", "/v1/assets", e.admin, "", []string{"Authorization: Bearer " + e.admin}, 401, "api_key_invalid"},
		{"reader reads", "GET", "/v1/assets", e.reader, "", nil, 200, ""},
		{"issuer cannot read", "GET", "/v1/assets", e.issuer, "", nil, 403, "scope_missing"},
		{"reader cannot write", "POST", "/v1/assets", e.reader, m1, nil, 403, "scope_missing"},
		{"issuer cannot revoke", "POST", "/v1/sessions/s1/revoke", e.issuer, "", nil, 403, "scope_missing"},
		{"reader cannot rotate", "POST", "/v1/keys/rotate", e.reader, "", nil, 403, "scope_missing"},
		{"admin writes", "POST", "/v1/assets", e.admin, m1, nil, 201, ""},
		{"reader cannot issue", "GET", "/v1/token?id=m1", e.reader, "", nil, 403, "scope_missing"},
		{"token needs a key", "GET", "/v1/token?id=m1", "", "", nil, 401, "api_key_missing"},
		{"issuer issues", "GET", "/v1/token?id=m1", e.issuer, "", nil, 200, ""},
		{"admin issues", "GET", "/v1/token?id=m1", e.admin, "", nil, 200, ""},
		{"openapi is public", "GET", "/v1/openapi.json", "", "", nil, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, tc.method, tc.path, tc.key, tc.body, tc.headers...)
			expect(t, r, tc.status, tc.code)
			if tc.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			for _, k := range []string{e.admin, e.issuer, e.reader} {
				if strings.Contains(string(r.body), k[len(k)-64:]) {
					t.Error("the answer repeats a secret")
				}
			}
		})
	}
}

// flipLast changes the last character of a token.
func flipLast(s string) string {
	c := byte('0')
	if s[len(s)-1] == '0' {
		c = '1'
	}
	return s[:len(s)-1] + string(c)
}

func TestAssets(t *testing.T) {
	e := newEnv(t, nil)
	a := e.admin
	expect(t, e.do(t, "POST", "/v1/assets", a, m1), 201, "")
	r := e.do(t, "POST", "/v1/assets", a, m1)
	expect(t, r, 409, "asset_exists")

	r = e.do(t, "GET", "/v1/assets/m1", e.reader, "")
	expect(t, r, 200, "")
	var got map[string]any
	r.decode(t, &got)
	if got["url_path"] != "/vod/m1/index.m3u8" || got["revision"] == nil {
		t.Errorf("GET = %s", r.body)
	}
	rev := int(got["revision"].(float64))

	// Update: path and body ids must agree; a stale revision conflicts.
	upd := strings.Replace(m1, "index.m3u8", "main.m3u8", 1)
	expect(t, e.do(t, "PUT", "/v1/assets/m1", a, upd), 200, "")
	stale := strings.Replace(upd, `"id":"m1",`, fmt.Sprintf(`"id":"m1","revision":%d,`, rev), 1)
	expect(t, e.do(t, "PUT", "/v1/assets/m1", a, stale), 409, "conflict")
	r = e.do(t, "PUT", "/v1/assets/m2", a, upd)
	expect(t, r, 400, "invalid_asset")
	if r.field() != "id" {
		t.Errorf("field %q, want id", r.field())
	}
	expect(t, e.do(t, "PUT", "/v1/assets/m9", a, strings.Replace(upd, `"m1"`, `"m9"`, 1)), 404, "asset_not_found")
	r = e.do(t, "GET", "/v1/assets/m1", a, "")
	r.decode(t, &got)
	if got["url_path"] != "/vod/m1/main.m3u8" {
		t.Errorf("after update: %s", r.body)
	}

	tests := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"unknown asset", "GET", "/v1/assets/nope", "", 404, "asset_not_found", ""},
		{"bad id", "GET", "/v1/assets/a-b", "", 400, "invalid_id", "id"},
		{"long id", "GET", "/v1/assets/" + strings.Repeat("x", 201), "", 400, "invalid_id", "id"},
		{"bad url_path", "POST", "/v1/assets", strings.Replace(m1, `"/vod/m1/index.m3u8"`, `"vod"`, 1), 400, "invalid_asset", "url_path"},
		{"bad hostname", "POST", "/v1/assets", strings.Replace(m1, `"cdn.example.com"`, `"ftp://x"`, 1), 400, "invalid_asset", "endpoint_hostname"},
		{"policy without paths", "POST", "/v1/assets", strings.Replace(m1, `"paths":["/vod/m1/"],`, ``, 1), 400, "invalid_asset", "token_policy.paths"},
		{"policy bad exp", "POST", "/v1/assets", strings.Replace(m1, `"+2h"`, `"+2y"`, 1), 400, "invalid_asset", "token_policy.exp"},
		{"unknown field", "POST", "/v1/assets", strings.Replace(m1, `"id":"m1",`, `"id":"m1","title":"x",`, 1), 400, "invalid_asset", "title"},
		{"not JSON", "POST", "/v1/assets", `{"id":`, 400, "invalid_asset", "asset"},
		{"empty body", "POST", "/v1/assets", ``, 400, "invalid_asset", "asset"},
		{"delete unknown", "DELETE", "/v1/assets/nope", "", 404, "asset_not_found", ""},
		{"list bad limit", "GET", "/v1/assets?limit=0", "", 400, "invalid_field", "limit"},
		{"list limit too big", "GET", "/v1/assets?limit=1001", "", 400, "invalid_field", "limit"},
		{"list bad cursor", "GET", "/v1/assets?after=a.b", "", 400, "invalid_field", "after"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, tc.method, tc.path, a, tc.body)
			expect(t, r, tc.status, tc.code)
			if r.field() != tc.field {
				t.Errorf("field %q, want %q (%s)", r.field(), tc.field, r.body)
			}
		})
	}

	// Paging.
	for i := range 4 {
		expect(t, e.do(t, "POST", "/v1/assets", a, strings.Replace(m1, `"m1"`, fmt.Sprintf(`"p%d"`, i), 1)), 201, "")
	}
	var ids []string
	after := ""
	for range 10 {
		var page struct {
			Items []struct{ ID string }
			Next  string
		}
		e.do(t, "GET", "/v1/assets?limit=2&after="+after, e.reader, "").decode(t, &page)
		for _, it := range page.Items {
			ids = append(ids, it.ID)
		}
		if after = page.Next; after == "" {
			break
		}
	}
	if fmt.Sprint(ids) != "[m1 p0 p1 p2 p3]" {
		t.Errorf("pages gave %v", ids)
	}

	expect(t, e.do(t, "DELETE", "/v1/assets/m1", a, ""), 204, "")
	expect(t, e.do(t, "GET", "/v1/assets/m1", a, ""), 404, "asset_not_found")
}

func TestImportAssets(t *testing.T) {
	e := newEnv(t, nil)
	item := func(id string) string {
		return `{"id":{"S":"` + id + `"},"url_path":{"S":"/out/v1/` + id + `/index.m3u8"},"endpoint_hostname":{"S":"https://d1.cloudfront.net"},
		"token_policy":{"M":{"ip":{"BOOL":true},"headers":{"L":[{"S":"user-agent"}]},"querystrings":{"L":[]},
		"paths":{"L":[{"S":"/out/v1/` + id + `/"}]},"exc":{"L":[]},"exp":{"S":"+1h"},"ssn":{"BOOL":true}}}}`
	}
	r := e.do(t, "POST", "/v1/assets/import", e.admin, `{"Items":[`+item("t1")+`,`+item("t2")+`],"Count":2}`)
	expect(t, r, 200, "")
	var res struct {
		Imported int
		IDs      []string
	}
	r.decode(t, &res)
	if res.Imported != 2 || fmt.Sprint(res.IDs) != "[t1 t2]" {
		t.Errorf("import = %s", r.body)
	}
	var got struct {
		EndpointHostname string `json:"endpoint_hostname"`
		TokenPolicy      struct {
			SSN bool `json:"ssn"`
		} `json:"token_policy"`
	}
	e.do(t, "GET", "/v1/assets/t2", e.admin, "").decode(t, &got)
	if got.EndpointHostname != "https://d1.cloudfront.net" || !got.TokenPolicy.SSN {
		t.Errorf("imported asset %+v", got)
	}
	// Importing again replaces.
	expect(t, e.do(t, "POST", "/v1/assets/import", e.admin, item("t1")), 200, "")

	// A bad item: nothing of the batch is written, the error names it.
	bad := strings.Replace(item("t4"), `"/out/v1/t4/index.m3u8"`, `"nope"`, 1)
	r = e.do(t, "POST", "/v1/assets/import", e.admin, "["+item("t3")+","+bad+"]")
	expect(t, r, 400, "invalid_import")
	if r.field() != "url_path" || !strings.Contains(string(r.body), "item 1") {
		t.Errorf("error %s", r.body)
	}
	expect(t, e.do(t, "GET", "/v1/assets/t3", e.admin, ""), 404, "asset_not_found")
}

func TestSessions(t *testing.T) {
	e := newEnv(t, nil)
	a := e.admin
	r := e.do(t, "POST", "/v1/sessions/abc123/revoke", a, `{"reason":"shared on a forum","ttl":"2h"}`)
	expect(t, r, 200, "")
	var rv struct {
		control.Revocation
		Revision uint64
	}
	r.decode(t, &rv)
	now := e.clock.Now()
	if rv.SessionID != "abc123" || rv.Type != "manual" || rv.Reason != "shared on a forum" || rv.By != "apikey:admin" ||
		!rv.RevokedAt.Equal(now) || !rv.ExpiresAt.Equal(now.Add(2*time.Hour)) || rv.Revision == 0 {
		t.Errorf("revoke = %s", r.body)
	}
	if ttl := e.sessions.TTL("abc123"); ttl != 2*time.Hour {
		t.Errorf("store got ttl %v", ttl)
	}
	// No body: until unrevoked; ttl in seconds; days.
	expect(t, e.do(t, "POST", "/v1/sessions/s2/revoke", a, ""), 200, "")
	if e.sessions.TTL("s2") != 0 {
		t.Errorf("no body: ttl %v", e.sessions.TTL("s2"))
	}
	expect(t, e.do(t, "POST", "/v1/sessions/s3/revoke", a, `{"ttl":90}`), 200, "")
	expect(t, e.do(t, "POST", "/v1/sessions/s4/revoke", a, `{"ttl":"7d"}`), 200, "")
	if e.sessions.TTL("s3") != 90*time.Second || e.sessions.TTL("s4") != 7*24*time.Hour {
		t.Errorf("ttls %v %v", e.sessions.TTL("s3"), e.sessions.TTL("s4"))
	}

	r = e.do(t, "GET", "/v1/sessions/abc123/revoke", e.reader, "")
	expect(t, r, 200, "")

	var page struct {
		Items []control.Revocation
		Next  string
	}
	e.do(t, "GET", "/v1/sessions/revoked?limit=3", e.reader, "").decode(t, &page)
	if len(page.Items) != 3 || page.Items[0].SessionID != "abc123" || page.Next != "s3" {
		t.Errorf("page 1: %+v", page)
	}
	e.do(t, "GET", "/v1/sessions/revoked?limit=3&after=s3", e.reader, "").decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].SessionID != "s4" || page.Next != "" {
		t.Errorf("page 2: %+v", page)
	}

	expect(t, e.do(t, "DELETE", "/v1/sessions/abc123/revoke", a, ""), 204, "")
	expect(t, e.do(t, "DELETE", "/v1/sessions/abc123/revoke", a, ""), 404, "session_not_revoked")
	expect(t, e.do(t, "GET", "/v1/sessions/abc123/revoke", a, ""), 404, "session_not_revoked")

	tests := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"bad id", "POST", "/v1/sessions/a-b/revoke", "", 400, "invalid_session_id", "session_id"},
		{"long id", "POST", "/v1/sessions/" + strings.Repeat("a", 201) + "/revoke", "", 400, "invalid_session_id", "session_id"},
		{"bad id on get", "GET", "/v1/sessions/a.b/revoke", "", 400, "invalid_session_id", "session_id"},
		{"bad ttl", "POST", "/v1/sessions/s1/revoke", `{"ttl":"soon"}`, 400, "invalid_field", "ttl"},
		{"negative ttl", "POST", "/v1/sessions/s1/revoke", `{"ttl":"-5m"}`, 400, "invalid_field", "ttl"},
		{"ttl too long", "POST", "/v1/sessions/s1/revoke", `{"ttl":"4000d"}`, 400, "invalid_field", "ttl"},
		{"fractional ttl", "POST", "/v1/sessions/s1/revoke", `{"ttl":1.5}`, 400, "invalid_field", "ttl"},
		{"reason not a string", "POST", "/v1/sessions/s1/revoke", `{"reason":5}`, 400, "invalid_field", "reason"},
		{"reason too long", "POST", "/v1/sessions/s1/revoke", `{"reason":"` + strings.Repeat("x", 1025) + `"}`, 400, "invalid_field", "reason"},
		{"unknown field", "POST", "/v1/sessions/s1/revoke", `{"why":"x"}`, 400, "invalid_field", "why"},
		{"not JSON", "POST", "/v1/sessions/s1/revoke", `{`, 400, "invalid_json", ""},
		{"two objects", "POST", "/v1/sessions/s1/revoke", `{}{}`, 400, "invalid_json", ""},
		{"bad cursor", "GET", "/v1/sessions/revoked?after=a-b", "", 400, "invalid_field", "after"},
		{"bad limit", "GET", "/v1/sessions/revoked?limit=x", "", 400, "invalid_field", "limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(t, tc.method, tc.path, a, tc.body)
			expect(t, r, tc.status, tc.code)
			if r.field() != tc.field {
				t.Errorf("field %q, want %q (%s)", r.field(), tc.field, r.body)
			}
		})
	}
	if _, ok, _ := e.sessions.Get(context.Background(), "s1"); ok {
		t.Error("a refused request revoked s1")
	}

	// A store failure is a 503 whose body hides the cause.
	e.sessions.SetFail(errors.New("nats: secret detail"))
	r = e.do(t, "POST", "/v1/sessions/s9/revoke", a, "")
	expect(t, r, 503, "unavailable")
	if strings.Contains(string(r.body), "secret detail") {
		t.Errorf("cause leaked: %s", r.body)
	}
}

func TestKeys(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(t, "GET", "/v1/keys", e.reader, "")
	expect(t, r, 200, "")
	if strings.Contains(string(r.body), testSecret) || !strings.Contains(string(r.body), testKID) {
		t.Errorf("keys without secrets: %s", r.body)
	}
	expect(t, e.do(t, "GET", "/v1/keys?secrets=true", e.reader, ""), 403, "scope_missing")
	expect(t, e.do(t, "GET", "/v1/keys?secrets=maybe", e.admin, ""), 400, "invalid_field")
	r = e.do(t, "GET", "/v1/keys?secrets=true", e.admin, "")
	expect(t, r, 200, "")
	if !strings.Contains(string(r.body), testSecret) {
		t.Errorf("keys with secrets: %s", r.body)
	}

	r = e.do(t, "POST", "/v1/keys/rotate", e.admin, "")
	expect(t, r, 202, "")
	var st control.RotationStatus
	r.decode(t, &st)
	if st.Phase != "requested" || st.NextKID != "next1" || e.keys.Rotations() != 1 {
		t.Errorf("rotate: %s", r.body)
	}

	secret2 := strings.Repeat("b", 128)
	export := `{"primary":{"uuid":"kid2","value":"` + secret2 + `"},"secondary":{"uuid":"` + testKID + `","value":"` + testSecret + `"}}`
	r = e.do(t, "POST", "/v1/keys/import", e.admin, export)
	expect(t, r, 200, "")
	if strings.Contains(string(r.body), secret2) || !strings.Contains(string(r.body), `"kid2"`) {
		t.Errorf("import: %s", r.body)
	}
	// Bad exports: 400, and the message never shows the secret.
	for _, bad := range []string{
		`{"primary":{"uuid":"k","value":"short"}}`,
		`{"primary":{"uuid":"k","value":"` + secret2 + `","extra":1}}`,
		`not json`,
	} {
		r = e.do(t, "POST", "/v1/keys/import", e.admin, bad)
		expect(t, r, 400, "invalid_import")
		if strings.Contains(string(r.body), secret2) || strings.Contains(string(r.body), "short") {
			t.Errorf("import error shows the secret: %s", r.body)
		}
	}
}

func TestEdges(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(t, "GET", "/v1/edges", e.reader, "")
	expect(t, r, 200, "")
	if !strings.Contains(string(r.body), `"items":[]`) {
		t.Errorf("no edges: %s", r.body)
	}
	ctx := context.Background()
	for _, id := range []string{"edge-b", "edge-a"} {
		hb := &fleet.Heartbeat{EdgeID: id, Started: time.Now().UTC(), At: time.Now().UTC(), KeyIDs: []string{testKID}, KeysRevision: 3, Requests: 7}
		if err := fleet.Publish(ctx, e.edges, hb); err != nil {
			t.Fatal(err)
		}
	}
	var page struct{ Items []fleet.Heartbeat }
	e.do(t, "GET", "/v1/edges", e.reader, "").decode(t, &page)
	if len(page.Items) != 2 || page.Items[0].EdgeID != "edge-a" || page.Items[1].Requests != 7 || !page.Items[0].HasKey(testKID) {
		t.Errorf("edges %+v", page.Items)
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t, func(c *control.Config) { c.MaxBodyBytes = 100 })
	r := e.do(t, "GET", "/v1/nothing", e.admin, "")
	expect(t, r, 404, "not_found")
	r = e.do(t, "PATCH", "/v1/assets/m1", e.admin, "")
	expect(t, r, 405, "method_not_allowed")
	if got := r.header.Get("Allow"); got != "DELETE, GET, HEAD, PUT" {
		t.Errorf("Allow %q", got)
	}
	r = e.do(t, "GET", "/v1/assets/import", e.admin, "")
	expect(t, r, 404, "asset_not_found") // an asset may be called "import"
	r = e.do(t, "DELETE", "/v1/token", e.admin, "")
	expect(t, r, 405, "method_not_allowed")
	r = e.do(t, "POST", "/v1/assets", e.admin, strings.Repeat(" ", 101))
	expect(t, r, 413, "body_too_large")
	// Without a length: chunked.
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1/assets", strings.NewReader(strings.Repeat(" ", 200)))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+e.admin)
	expect(t, send(t, req), 413, "body_too_large")
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, nil)
	expect(t, e.do(t, "POST", "/v1/assets", e.admin, m1), 201, "")
	expect(t, e.do(t, "GET", "/v1/assets/none", e.admin, ""), 404, "")
	expect(t, e.do(t, "GET", "/v1/token?id=m1", e.issuer, ""), 200, "")
	expect(t, e.do(t, "POST", "/v1/sessions/x1/revoke", e.admin, ""), 200, "")
	expect(t, e.do(t, "DELETE", "/v1/sessions/x1/revoke", e.admin, ""), 204, "")
	expect(t, e.do(t, "GET", "/v1/assets", "bad", ""), 401, "")
	want := `
# HELP smd_control_requests_total API requests by route pattern and status code.
# TYPE smd_control_requests_total counter
smd_control_requests_total{route="DELETE /v1/sessions/{id}/revoke",status="204"} 1
smd_control_requests_total{route="GET /v1/assets",status="401"} 1
smd_control_requests_total{route="GET /v1/assets/{id}",status="404"} 1
smd_control_requests_total{route="GET /v1/token",status="200"} 1
smd_control_requests_total{route="POST /v1/assets",status="201"} 1
smd_control_requests_total{route="POST /v1/sessions/{id}/revoke",status="200"} 1
# HELP smd_control_tokens_issued_total Tokens issued by GET /v1/token.
# TYPE smd_control_tokens_issued_total counter
smd_control_tokens_issued_total 1
# HELP smd_control_revocations_total Manual revocations and allowlistings through the API, by action (revoke, unrevoke, allow, disallow).
# TYPE smd_control_revocations_total counter
smd_control_revocations_total{action="revoke"} 1
smd_control_revocations_total{action="unrevoke"} 1
# HELP smd_control_auth_failures_total Requests with a malformed, unknown or wrong API key.
# TYPE smd_control_auth_failures_total counter
smd_control_auth_failures_total 1
`
	if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want),
		"smd_control_requests_total", "smd_control_tokens_issued_total", "smd_control_revocations_total", "smd_control_auth_failures_total"); err != nil {
		t.Error(err)
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "keys.json")
	if err := os.WriteFile(good, []byte(`{"keys":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"keys":[{"id":"a","sha256":"x","scopes":["admin"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	deps := control.Deps{Assets: nil, Sessions: controltest.NewSessions(), Keys: controltest.NewKeys()}
	tests := []struct {
		name string
		cfg  control.Config
		deps bool
		want string
	}{
		{"no key file", control.Config{}, true, "APIKeysFile: required"},
		{"bad key file", control.Config{APIKeysFile: bad}, true, "sha256"},
		{"missing key file", control.Config{APIKeysFile: filepath.Join(dir, "none")}, true, "no such file"},
		{"bad proxy", control.Config{APIKeysFile: good, TrustedProxies: []string{"10.0.0.0/33"}}, true, "TrustedProxies"},
		{"short lifetime", control.Config{APIKeysFile: good, MaxTokenLifetime: time.Second}, true, "MaxTokenLifetime"},
		{"bad scheme", control.Config{APIKeysFile: good, PlaybackScheme: "ftp"}, true, "PlaybackScheme"},
		{"signing without keys", control.Config{APIKeysFile: good, RequireSignedRequests: true}, true, "SignatureKeys"},
		{"short signing secret", control.Config{APIKeysFile: good, RequireSignedRequests: true, SignatureKeys: map[string][]byte{"edge": []byte("x")}}, true, "shorter than 32"},
		{"page sizes", control.Config{APIKeysFile: good, DefaultPageSize: 50, MaxPageSize: 10}, true, "DefaultPageSize"},
		{"no assets", control.Config{APIKeysFile: good}, false, "Deps.Assets"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := deps
			if tc.deps {
				d.Assets = fakeAssets{}
			}
			_, err := control.New(tc.cfg, d)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// fakeAssets satisfies control.Assets for construction-only tests.
type fakeAssets struct{ control.Assets }

func TestOpenAPIDocument(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(t, "GET", "/v1/openapi.json", "", "")
	expect(t, r, 200, "")
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	r.decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") || len(doc.Paths) != 17 {
		t.Errorf("document: openapi %q, %d paths", doc.OpenAPI, len(doc.Paths))
	}
	if err := spec.load(); err != nil {
		t.Fatal(err)
	}
	// Every route of the API is in the document, with its method.
	for _, rt := range []string{
		"GET /v1/openapi.json", "GET /v1/token", "GET /v1/assets", "POST /v1/assets", "POST /v1/assets/import",
		"GET /v1/assets/{id}", "PUT /v1/assets/{id}", "DELETE /v1/assets/{id}", "GET /v1/sessions/revoked",
		"GET /v1/sessions/{id}/revoke", "POST /v1/sessions/{id}/revoke", "DELETE /v1/sessions/{id}/revoke",
		"GET /v1/sessions/allowed", "GET /v1/sessions/{id}/allow", "PUT /v1/sessions/{id}/allow", "DELETE /v1/sessions/{id}/allow",
		"GET /v1/sessions/{id}/detector", "GET /v1/sessions/top", "GET /v1/whoami", "GET /v1/sessions/{id}/timeline", "GET /v1/keys", "POST /v1/keys/rotate", "POST /v1/keys/import", "GET /v1/edges",
	} {
		method, path, _ := strings.Cut(rt, " ")
		p := spec.doc.Paths.Find(path)
		if p == nil || p.GetOperation(method) == nil {
			t.Errorf("%s is not in openapi.json", rt)
		}
	}
}

// TestMain runs the tests, then checks that the OpenAPI validation of
// the run saw a success of every operation of the document.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && spec.doc != nil && fullRun() {
		var missing []string
		for _, op := range spec.doc.Paths.Map() {
			for _, o := range op.Operations() {
				if !spec.succeeded[o.OperationID] {
					missing = append(missing, o.OperationID)
				}
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "OpenAPI: no successful response was validated for %v\n", missing)
			code = 1
		} else {
			fmt.Fprintf(os.Stderr, "OpenAPI: %d responses validated against openapi.json\n", spec.checked)
		}
	}
	os.Exit(code)
}

// fullRun reports whether no -run filter narrows the tests, so that the
// coverage check of TestMain applies.
func fullRun() bool {
	f := flag.Lookup("test.run")
	return f == nil || f.Value.String() == ""
}
