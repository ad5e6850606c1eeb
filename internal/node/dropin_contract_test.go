package node_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/smd-media/smd/internal/config"
	"github.com/smd-media/smd/internal/edge"
	"github.com/smd-media/smd/internal/node"
	"github.com/smd-media/smd/token/smde"
)

// Envoy and Traefik do not install from Debian's packages here, so their
// documented configurations (deploy/envoy, deploy/traefik) cannot run in
// the tests. These tests hold each file to its proxy's documented header
// contract instead: they read the file, build the auth request the proxy
// would send from it, give it to smd's auth mode, and apply the file's
// own path rewrite to the original path: the origin must get what smd
// answered as the origin path.

// yamlAt walks a decoded YAML document by keys and list indexes.
func yamlAt(t *testing.T, doc any, path ...any) any {
	t.Helper()
	cur := doc
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a map at %q", path, k)
			}
			cur = m[k]
		case int:
			l, ok := cur.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d", path, k)
			}
			cur = l[k]
		}
	}
	return cur
}

func loadYAML(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("deploy/%s: %v", name, err)
	}
	return doc
}

// authEdge is an auth mode pipeline as smd edge --mode auth builds it
// from cfg, with one key and nothing revoked.
func authEdge(t *testing.T, change func(*config.Edge)) *edge.Edge {
	t.Helper()
	cfg := config.DefaultEdge()
	cfg.Mode = config.EdgeAuth
	cfg.KeysFile = "unused"
	cfg.TrustedProxies = []string{"10.0.0.0/8"}
	if change != nil {
		change(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e, err := edge.New(node.PipelineConfig(&cfg), edge.Deps{Keys: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// patternsOf lists the exact and prefix patterns of an Envoy matcher list.
func patternsOf(t *testing.T, list any) (exact, prefix []string) {
	for _, p := range list.([]any) {
		m := p.(map[string]any)
		if v, ok := m["exact"].(string); ok {
			exact = append(exact, v)
		}
		if v, ok := m["prefix"].(string); ok {
			prefix = append(prefix, v)
		}
	}
	return
}

func TestEnvoyConfigContract(t *testing.T) {
	doc := loadYAML(t, "envoy/envoy.yaml")
	hcm := yamlAt(t, doc, "static_resources", "listeners", 0, "filter_chains", 0, "filters", 0, "typed_config")
	if yamlAt(t, hcm, "use_remote_address") != true {
		t.Error("use_remote_address must be true: Envoy then appends the viewer's address to X-Forwarded-For")
	}
	authz := yamlAt(t, hcm, "http_filters", 0)
	if yamlAt(t, authz, "name") != "envoy.filters.http.ext_authz" {
		t.Fatal("the first HTTP filter is not ext_authz")
	}
	tc := yamlAt(t, authz, "typed_config")
	if yamlAt(t, tc, "failure_mode_allow") != false {
		t.Error("failure_mode_allow must be false (fail closed)")
	}
	prefix := yamlAt(t, tc, "http_service", "path_prefix").(string)
	allowed, allowedPrefixes := patternsOf(t, yamlAt(t, tc, "http_service", "authorization_request", "allowed_headers", "patterns"))
	for _, h := range []string{"user-agent", "referer", "x-forwarded-for"} {
		if !slices.Contains(allowed, h) {
			t.Errorf("authorization_request.allowed_headers lacks %s (a token may bind it)", h)
		}
	}
	upstream, _ := patternsOf(t, yamlAt(t, tc, "http_service", "authorization_response", "allowed_upstream_headers", "patterns"))
	client, _ := patternsOf(t, yamlAt(t, tc, "http_service", "authorization_response", "allowed_client_headers", "patterns"))
	for _, h := range client {
		if strings.HasPrefix(h, "x-smd-") {
			t.Errorf("allowed_client_headers passes %s to the viewer", h)
		}
	}
	route := yamlAt(t, hcm, "route_config", "virtual_hosts", 0, "routes", 0, "route")
	re := regexp.MustCompile(yamlAt(t, route, "regex_rewrite", "pattern", "regex").(string))
	subst := strings.ReplaceAll(yamlAt(t, route, "regex_rewrite", "substitution").(string), `\1`, "${1}")

	// The check request Envoy sends, per its documentation: the original
	// method, path_prefix + the original path, Host, and only the allowed
	// headers of the viewer's request.
	e := authEdge(t, func(c *config.Edge) { c.AuthPathPrefix = prefix })
	tok := signFor(t, smde.Policy{Paths: []string{"/vod/m1/"}, Session: true, IP: true, Headers: []string{"User-Agent"}, Expiry: farFuture},
		smde.Viewer{SessionID: "Env1", IP: "203.0.113.9", Headers: map[string]string{"User-Agent": "Player/1"}})
	original := "/" + tok + "/vod/m1/seg%201.ts"
	viewer := http.Header{"User-Agent": {"Player/1"}, "Referer": {"https://portal.example/"}, "X-Forwarded-For": {"203.0.113.9"}, "Cookie": {"c=1"}}
	r := httptest.NewRequest("GET", prefix+original, nil)
	r.RemoteAddr = "10.0.0.2:5000" // Envoy
	r.Header = http.Header{}
	for k, v := range viewer {
		if slices.Contains(allowed, strings.ToLower(k)) || slices.ContainsFunc(allowedPrefixes, func(p string) bool { return strings.HasPrefix(strings.ToLower(k), p) }) {
			r.Header[k] = v
		}
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("smd answered Envoy's check request %d", w.Code)
	}
	for _, h := range []string{edge.HeaderSession, edge.HeaderOriginPath} {
		if !slices.Contains(upstream, strings.ToLower(h)) {
			t.Errorf("allowed_upstream_headers lacks %s", h)
		}
	}
	if got := re.ReplaceAllString(original, subst); got != w.Header().Get(edge.HeaderOriginPath) {
		t.Errorf("Envoy's rewrite gives the origin %q, smd's origin path is %q", got, w.Header().Get(edge.HeaderOriginPath))
	}
}

func TestTraefikConfigContract(t *testing.T) {
	doc := loadYAML(t, "traefik/smd.yml")
	mws := yamlAt(t, doc, "http", "routers", "media", "middlewares").([]any)
	if len(mws) != 2 || mws[0] != "smd-auth" || mws[1] != "smd-strip-token" {
		t.Fatalf("router middlewares %v: smd-auth must come before smd-strip-token", mws)
	}
	fa := yamlAt(t, doc, "http", "middlewares", "smd-auth", "forwardAuth")
	if yamlAt(t, fa, "trustForwardHeader") != false {
		t.Error("trustForwardHeader must be false: Traefik then sets X-Forwarded-* itself")
	}
	var copied []string
	for _, h := range yamlAt(t, fa, "authResponseHeaders").([]any) {
		copied = append(copied, h.(string))
	}
	for _, h := range []string{edge.HeaderSession, edge.HeaderOriginPath} {
		if !slices.Contains(copied, h) {
			t.Errorf("authResponseHeaders lacks %s", h)
		}
	}
	rp := yamlAt(t, doc, "http", "middlewares", "smd-strip-token", "replacePathRegex")
	re := regexp.MustCompile(yamlAt(t, rp, "regex").(string))
	repl := yamlAt(t, rp, "replacement").(string)

	// The auth request Traefik sends, per its documentation: the viewer's
	// headers, and the X-Forwarded-* headers it sets.
	e := authEdge(t, nil)
	tok := signFor(t, smde.Policy{Paths: []string{"/vod/m1/"}, Session: true, IP: true, Expiry: farFuture}, smde.Viewer{SessionID: "Trf1", IP: "203.0.113.9"})
	original := "/" + tok + "/vod/m1/seg1.ts"
	r := httptest.NewRequest("GET", "/.smd-auth", nil)
	r.RemoteAddr = "10.0.0.3:5000" // Traefik
	r.Header = http.Header{
		"User-Agent": {"Player/1"}, "X-Forwarded-Method": {"GET"}, "X-Forwarded-Proto": {"https"},
		"X-Forwarded-Host": {"cdn.example.com"}, "X-Forwarded-Uri": {original + "?x=1"}, "X-Forwarded-For": {"203.0.113.9"},
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	if w.Code != 200 || w.Header().Get(edge.HeaderSession) != "Trf1" {
		t.Fatalf("smd answered Traefik's auth request %d, session %q", w.Code, w.Header().Get(edge.HeaderSession))
	}
	if got := re.ReplaceAllString(original, repl); got != w.Header().Get(edge.HeaderOriginPath) {
		t.Errorf("Traefik's rewrite gives the origin %q, smd's origin path is %q", got, w.Header().Get(edge.HeaderOriginPath))
	}
}
