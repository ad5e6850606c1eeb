package control_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/control/controltest"
)

// Signing key of the test ring.
const (
	testKID    = controltest.KID
	testSecret = controltest.Secret
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is an API on a loopback server with real NATS for assets and edges,
// whose every response is checked against the OpenAPI document.
type env struct {
	*controltest.Env
	srv   *httptest.Server
	reg   *prometheus.Registry
	clock *clock
	// Tokens of the keys "admin", "issuer" and "reader".
	admin, issuer, reader string
	sessions              *controltest.Sessions
	keys                  *controltest.Keys
	edges                 jetstream.KeyValue
}

// newEnv starts an API; cfg may adjust the configuration.
func newEnv(t *testing.T, cfg func(*control.Config)) *env {
	t.Helper()
	return newEnvOf(t, cfg, nil)
}

// newEnvWith is newEnv with deps adjusted.
func newEnvWith(t *testing.T, deps func(*control.Deps)) *env {
	t.Helper()
	return newEnvOf(t, nil, deps)
}

func newEnvOf(t *testing.T, cfg func(*control.Config), deps func(*control.Deps)) *env {
	t.Helper()
	if err := spec.load(); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	e := &env{reg: prometheus.NewRegistry(), clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	e.Env = controltest.Start(t, controltest.Options{
		Config: cfg,
		Deps: func(d *control.Deps) {
			d.Metrics = e.reg
			d.Now = e.clock.Now
			if deps != nil {
				deps(d)
			}
		},
		Wrap: func(h http.Handler) http.Handler { return spec.check(t, h) },
	})
	e.srv = e.Server
	e.admin, e.issuer, e.reader = e.Admin, e.Issuer, e.Reader
	e.sessions, e.keys, e.edges = e.Sessions, e.Keys, e.Edges
	return e
}

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errorCode returns the "error" of a JSON error body.
func (r response) errorCode() string {
	var e struct{ Error string }
	_ = json.Unmarshal(r.body, &e)
	return e.Error
}

// field returns the "field" of a JSON error body.
func (r response) field() string {
	var e struct{ Field string }
	_ = json.Unmarshal(r.body, &e)
	return e.Field
}

// decode reads the JSON body into v.
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

// do sends a request with the API key tok ("" for none) and optional
// headers ("Name: value").
func (e *env) do(t *testing.T, method, path, tok, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(k, strings.TrimSpace(v))
	}
	return send(t, req)
}

func send(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// expect checks status and, for errors, the reason code.
func expect(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if code != "" && r.errorCode() != code {
		t.Fatalf("error %q, want %q; body %s", r.errorCode(), code, r.body)
	}
}

// openAPISpec checks every response of the test run against
// /v1/openapi.json and records which operations answered with a 2xx.
type openAPISpec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error

	mu        sync.Mutex
	checked   int
	succeeded map[string]bool
}

var spec = &openAPISpec{succeeded: map[string]bool{}}

func (s *openAPISpec) load() error {
	s.once.Do(func() {
		l := openapi3.NewLoader()
		s.doc, s.err = l.LoadFromData(control.OpenAPI())
		if s.err != nil {
			return
		}
		if s.err = s.doc.Validate(context.Background()); s.err != nil {
			return
		}
		s.doc.Servers = nil
		s.router, s.err = legacy.NewRouter(s.doc)
	})
	return s.err
}

// check wraps h so that each response is validated against the document.
func (s *openAPISpec) check(t *testing.T, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		op, err := s.validate(r, rec)
		if err != nil {
			t.Errorf("OpenAPI: %s %s -> %d: %v\nbody: %s", r.Method, r.URL, rec.Code, err, rec.Body)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.checked++
		if op != "" && rec.Code < 300 {
			s.succeeded[op] = true
		}
	})
}

// validate checks one response and returns the operation it answered
// ("" for none).
func (s *openAPISpec) validate(r *http.Request, rec *httptest.ResponseRecorder) (string, error) {
	if r.URL.RawPath != "" {
		// Route on the path as sent, as the API's mux does: an escaped
		// slash stays inside its segment.
		r = r.Clone(r.Context())
		r.URL.Path, r.URL.RawPath = r.URL.RawPath, ""
	}
	route, params, err := s.router.FindRoute(r)
	if err != nil {
		// Not an operation (404/405 of unknown paths or methods): the
		// answer must still be an error in the documented form.
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			return "", fmt.Errorf("no operation, yet status %d", rec.Code)
		}
		return "", s.doc.Components.Schemas["Error"].Value.VisitJSON(mustJSON(rec.Body.Bytes()))
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return "", err
	}
	return route.Operation.OperationID, nil
}

func mustJSON(b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Sprintf("not JSON: %q", b)
	}
	return v
}

// TestOpenAPIChecker makes sure the checker used on every response can
// fail: wrong bodies, undocumented statuses and unknown routes.
func TestOpenAPIChecker(t *testing.T) {
	if err := spec.load(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		status             int
		body               string
		ok                 bool
	}{
		{"valid asset", "GET", "/v1/assets/m1", 200, `{"id":"m1","url_path":"/a","endpoint_hostname":"h","token_policy":{"paths":["/"],"exp":"+1h"}}`, true},
		{"id of the wrong type", "GET", "/v1/assets/m1", 200, `{"id":5,"url_path":"/a","endpoint_hostname":"h","token_policy":{"paths":["/"],"exp":"+1h"}}`, false},
		{"undocumented field", "GET", "/v1/assets/m1", 200, `{"id":"m1","x":1,"url_path":"/a","endpoint_hostname":"h","token_policy":{"paths":["/"],"exp":"+1h"}}`, false},
		{"undocumented status", "GET", "/v1/assets/m1", 418, `{"error":"x","message":"y"}`, false},
		{"error without message", "GET", "/v1/assets/m1", 404, `{"error":"x"}`, false},
		{"unknown path, error body", "GET", "/v1/nothing", 404, `{"error":"not_found","message":"no"}`, true},
		{"unknown path, 200", "GET", "/v1/nothing", 200, `{}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, nil)
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Type", "application/json")
			rec.WriteHeader(tc.status)
			rec.WriteString(tc.body)
			_, err := spec.validate(r, rec)
			if (err == nil) != tc.ok {
				t.Errorf("validate: %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
