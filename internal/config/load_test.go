package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "edge.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoadEdge(t *testing.T) {
	p := writeFile(t, `
id: edge-7
listen: 127.0.0.1:8080
keys_file: keys.json
cache:
  max_bytes: 1GiB
  playlist_ttl: 1s
routes:
  - {prefix: /vod/, origin: "http://127.0.0.1:8081"}
  - {prefix: /live/, origin: "http://127.0.0.1:8082", mode: log}
status: {expired: 410}
`)
	c, err := LoadEdge(p, env(map[string]string{
		"SMD_EDGE_CACHE_SEGMENT_TTL":  "7d",
		"SMD_EDGE_TRUSTED_PROXIES":    "[10.0.0.0/8, 192.0.2.1]",
		"SMD_EDGE_ADMIN_LISTEN":       "127.0.0.1:0",
		"SMD_EDGE_ACCESS_LOG_MAX_AGE": "1d12h",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	switch {
	case c.ID != "edge-7", c.Cache.MaxBytes != 1<<30, c.Cache.PlaylistTTL.D() != time.Second:
		t.Errorf("file not applied: %+v", c)
	case c.Cache.SegmentTTL.D() != 7*24*time.Hour, len(c.TrustedProxies) != 2, c.Admin.Listen != "127.0.0.1:0":
		t.Errorf("environment not applied: %+v", c)
	case c.AccessLog.MaxAge.D() != 36*time.Hour:
		t.Errorf("access_log.max_age %v", c.AccessLog.MaxAge)
	case c.Cache.MaxObjectBytes != 64<<20 || c.Routes[1].Mode != ModeLog || c.Status["expired"] != 410:
		t.Errorf("defaults or routes lost: %+v", c)
	}
}

func TestEdgeErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"unknown key", "listn: :80\n", nil, "field listn not found"},
		{"bad duration", "cache: {playlist_ttl: soon}\n", nil, "soon"},
		{"bad size", "cache: {max_bytes: lots}\n", nil, "lots"},
		{"bad env", "", map[string]string{"SMD_EDGE_CACHE_MAX_BYTES": "1XB"}, "SMD_EDGE_CACHE_MAX_BYTES"},
		{"two documents", "id: a\n---\nid: b\n", nil, "more than one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadEdge(writeFile(t, tc.yaml), env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestEdgeValidate(t *testing.T) {
	good := func() Edge {
		c := DefaultEdge()
		c.KeysFile = "k.json"
		c.Routes = []Route{{Prefix: "/", Origin: "http://127.0.0.1:8081"}}
		return c
	}
	if c := good(); c.Validate() != nil {
		t.Fatal(c.Validate())
	}
	tests := []struct {
		name   string
		change func(*Edge)
		want   string
	}{
		{"no routes", func(c *Edge) { c.Routes = nil }, "routes:"},
		{"relative prefix", func(c *Edge) { c.Routes[0].Prefix = "vod/" }, "routes[0].prefix"},
		{"unnormalized prefix", func(c *Edge) { c.Routes[0].Prefix = "/vod/../x/" }, "routes[0].prefix"},
		{"bad origin", func(c *Edge) { c.Routes[0].Origin = "ftp://x" }, "routes[0].origin"},
		{"bad mode", func(c *Edge) { c.Routes[0].Mode = "strict" }, "routes[0].mode"},
		{"no keys", func(c *Edge) { c.KeysFile = "" }, "keys_file"},
		{"no keys needed when off", func(c *Edge) { c.KeysFile = ""; c.Routes[0].Mode = ModeOff }, ""},
		{"bad proxy", func(c *Edge) { c.TrustedProxies = []string{"10.0.0.0/33"} }, "trusted_proxies[0]"},
		{"mmdb without file", func(c *Edge) { c.Geo.Source = "mmdb" }, "geo.mmdb_file"},
		{"bad geo source", func(c *Edge) { c.Geo.Source = "gps" }, "geo.source"},
		{"bad cors origin", func(c *Edge) { c.CORS.AllowedOrigins = []string{"portal.example.com"} }, "cors.allowed_origins[0]"},
		{"unknown status reason", func(c *Edge) { c.Status = map[string]int{"stale": 401} }, "status.stale"},
		{"status not an error", func(c *Edge) { c.Status = map[string]int{"expired": 200} }, "status.expired"},
		{"tls without files", func(c *Edge) { c.TLS.Listen = ":8443" }, "tls"},
		{"object bigger than cache", func(c *Edge) { c.Cache.MaxObjectBytes = c.Cache.MaxBytes + 1 }, "cache.max_object_bytes"},
		{"zero timeout", func(c *Edge) { c.Origin.ReadTimeout = 0 }, "origin.read_timeout"},
		{"nats instead of keys", func(c *Edge) { c.KeysFile = ""; c.NATS.URLs = []string{"nats://127.0.0.1:4222"} }, ""},
		{"nats and keys", func(c *Edge) { c.NATS.URLs = []string{"nats://127.0.0.1:4222"} }, "keys_file: set together with NATS"},
		{"bad nats url", func(c *Edge) { c.KeysFile = ""; c.NATS.URLs = []string{"http://u:secret@x:4222"} }, "nats.urls[0]"},
		{"nats url password hidden", func(c *Edge) { c.KeysFile = ""; c.NATS.URLs = []string{"http://u:secret@x:4222"} }, "u:xxxxx@x"},
		{"nats cert without key", func(c *Edge) { c.NATS.CertFile = "c.pem" }, "nats.cert_file"},
		{"nats replicas", func(c *Edge) { c.NATS.Replicas = 7 }, "nats.replicas"},
		{"nats without data dir", func(c *Edge) { c.KeysFile = ""; c.NATS.URLs = []string{"nats://x:4222"}; c.DataDir = "" }, "data_dir"},
		{"net/http engine", func(c *Edge) { c.Server.Engine = EngineNetHTTP }, ""},
		{"unknown engine", func(c *Edge) { c.Server.Engine = "fasthttp" }, "server.engine"},
		{"tls 1.3 only", func(c *Edge) { c.TLS.MinVersion = "1.3" }, ""},
		{"tls 1.1", func(c *Edge) { c.TLS.MinVersion = "1.1" }, "tls.min_version"},
		{"tls suites", func(c *Edge) { c.TLS.CipherSuites = []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"} }, ""},
		{"tls insecure suite", func(c *Edge) { c.TLS.CipherSuites = []string{"TLS_RSA_WITH_RC4_128_SHA"} }, "tls.cipher_suites"},
		{"tls unknown suite", func(c *Edge) { c.TLS.CipherSuites = []string{"AES"} }, "tls.cipher_suites"},
		{"tls negative reload", func(c *Edge) { c.TLS.Reload = -1 }, "tls.reload"},
		{"tls curves", func(c *Edge) { c.TLS.CurvePreferences = []string{"X25519", "P256"} }, ""},
		{"tls unknown curve", func(c *Edge) { c.TLS.CurvePreferences = []string{"X448"} }, "tls.curve_preferences"},
		{"tls curve twice", func(c *Edge) { c.TLS.CurvePreferences = []string{"X25519", "X25519"} }, "listed twice"},
		{"http3", func(c *Edge) {
			c.TLS = TLS{Listen: ":8443", CertFile: "c", KeyFile: "k", HTTP3: HTTP3{Listen: ":8443"}}
		}, ""},
		{"http3 without tls", func(c *Edge) { c.TLS.HTTP3.Listen = ":8443" }, "tls.http3.listen: set but tls.listen"},
		{"http3 bad address", func(c *Edge) {
			c.TLS = TLS{Listen: ":8443", CertFile: "c", KeyFile: "k", HTTP3: HTTP3{Listen: "8443"}}
		}, "tls.http3.listen"},
		{"http3 bad port", func(c *Edge) { c.TLS.HTTP3.AdvertisePort = 70000 }, "tls.http3.advertise_port"},
		{"acme", func(c *Edge) { c.TLS.Listen = ":8443"; c.TLS.ACME.Domains = []string{"cdn.example.com"} }, ""},
		{"acme and files", func(c *Edge) {
			c.TLS = TLS{Listen: ":8443", CertFile: "c.pem", KeyFile: "k.pem", ACME: ACME{Domains: []string{"cdn.example.com"}}}
		}, "tls.acme: set together with cert_file"},
		{"acme without tls.listen", func(c *Edge) { c.TLS.ACME.Domains = []string{"cdn.example.com"} }, "tls.acme: set but tls.listen"},
		{"acme bad challenge", func(c *Edge) {
			c.TLS.Listen, c.TLS.ACME = ":8443", ACME{Domains: []string{"a.example"}, Challenges: []string{"dns-01"}}
		}, "tls.acme.challenges[0]"},
		{"acme http-01 without listen", func(c *Edge) {
			c.Listen, c.TLS.Listen, c.TLS.ACME = "", ":8443", ACME{Domains: []string{"a.example"}, Challenges: []string{"http-01"}}
		}, "tls.acme.challenges"},
		{"acme plain CA", func(c *Edge) {
			c.TLS.Listen, c.TLS.ACME = ":8443", ACME{Domains: []string{"a.example"}, CA: "http://ca.example/dir"}
		}, "tls.acme.ca"},
		{"acme bad domain", func(c *Edge) { c.TLS.Listen, c.TLS.ACME = ":8443", ACME{Domains: []string{"a.example/x"}} }, "tls.acme.domains[0]"},
		{"auth mode", func(c *Edge) { c.Mode = EdgeAuth }, ""},
		{"auth mode without routes", func(c *Edge) { c.Mode = EdgeAuth; c.Routes = nil }, ""},
		{"auth mode without routes needs keys", func(c *Edge) { c.Mode = EdgeAuth; c.Routes = nil; c.KeysFile = "" }, "keys_file"},
		{"auth mode route without origin", func(c *Edge) { c.Mode = EdgeAuth; c.Routes[0].Origin = "" }, ""},
		{"auth mode route with a bad origin", func(c *Edge) { c.Mode = EdgeAuth; c.Routes[0].Origin = "ftp://x" }, "routes[0].origin"},
		{"serve mode route without origin", func(c *Edge) { c.Routes[0].Origin = "" }, "routes[0].origin"},
		{"unknown mode", func(c *Edge) { c.Mode = "proxy" }, "mode:"},
		{"auth path prefix", func(c *Edge) { c.Mode = EdgeAuth; c.AuthPathPrefix = "/.smd-auth" }, ""},
		{"auth path prefix in serve mode", func(c *Edge) { c.AuthPathPrefix = "/.smd-auth" }, "auth_path_prefix: set, but mode is not auth"},
		{"auth path prefix with a slash", func(c *Edge) { c.Mode = EdgeAuth; c.AuthPathPrefix = "/.smd-auth/" }, "auth_path_prefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.change(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestSizesAndDurations(t *testing.T) {
	for in, want := range map[string]ByteSize{"65536": 65536, "512KiB": 512 << 10, "64MiB": 64 << 20, "2GiB": 2 << 30, "500KB": 500e3, "1 MB": 1e6} {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("%q: %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "-1", "1.5MiB", "MiB", "1XB", "99999999999GiB"} {
		if _, err := ParseByteSize(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	if s := ByteSize(64 << 20).String(); s != "64MiB" {
		t.Errorf("String: %s", s)
	}
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "0s": 0} {
		if got, err := ParseDuration(in); err != nil || got.D() != want {
			t.Errorf("%q: %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "d", "1x", "-1d", "1d-"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestLoadServe(t *testing.T) {
	p := writeFile(t, `
listen: 127.0.0.1:8080
data_dir: /var/lib/smd
routes:
  - {prefix: /, origin: "http://127.0.0.1:8081"}
control:
  public_token_endpoint: true
  rotation_interval: 1d
embedded_nats: {listen: 127.0.0.1:4222}
`)
	c, err := LoadServe(p, true, env(map[string]string{
		"SMD_CONTROL_TOKEN_RATE": "2.5",
		"SMD_CACHE_MAX_BYTES":    "1GiB", // an edge key, through the inline struct
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	switch {
	case !c.Embedded(), c.DataDir != "/var/lib/smd", c.EmbeddedNATS.Listen != "127.0.0.1:4222":
		t.Errorf("file not applied: %+v", c)
	case !c.Control.PublicTokenEndpoint, c.Control.RotationInterval.D() != 24*time.Hour:
		t.Errorf("control not applied: %+v", c.Control)
	case c.Control.TokenRate != 2.5, c.Cache.MaxBytes != 1<<30:
		t.Errorf("environment not applied: %v %v", c.Control.TokenRate, c.Cache.MaxBytes)
	case c.Control.MaxTokenLifetime.D() != 24*time.Hour, c.Control.TokenBurst != 20:
		t.Errorf("defaults lost: %+v", c.Control)
	}
}

func TestServeValidate(t *testing.T) {
	good := func(embedded bool) *Serve {
		c := DefaultServe()
		c.embeddedNATS = embedded
		c.Routes = []Route{{Prefix: "/", Origin: "http://127.0.0.1:8081"}}
		if !embedded {
			c.NATS.URLs = []string{"nats://127.0.0.1:4222"}
		}
		return &c
	}
	for _, e := range []bool{true, false} {
		if err := good(e).Validate(); err != nil {
			t.Fatalf("embedded=%v: %v", e, err)
		}
	}
	tests := []struct {
		name     string
		embedded bool
		change   func(*Serve)
		want     string
	}{
		{"serve with nats urls", true, func(c *Serve) { c.NATS.URLs = []string{"nats://x:4222"} }, "nats.urls"},
		{"control without nats", false, func(c *Serve) { c.NATS.URLs = nil }, "nats.urls: required"},
		{"serve with keys file", true, func(c *Serve) { c.KeysFile = "k.json" }, "keys_file"},
		{"bad embedded listen", true, func(c *Serve) { c.EmbeddedNATS.Listen = "4222" }, "embedded_nats.listen"},
		{"bad control listen", false, func(c *Serve) { c.Control.Listen = "x" }, "control.listen"},
		{"zero rate", true, func(c *Serve) { c.Control.TokenRate = 0 }, "control.token_rate"},
		{"short lifetime", true, func(c *Serve) { c.Control.MaxTokenLifetime = Duration(time.Second) }, "control.max_token_lifetime"},
		{"signing without secret", true, func(c *Serve) { c.Control.RequestSigning.Enabled = true }, "control.request_signing.secret_file"},
		{"bad control proxy", true, func(c *Serve) { c.Control.TrustedProxies = []string{"x"} }, "control.trusted_proxies[0]"},
		{"edge part checked by serve", true, func(c *Serve) { c.Routes = nil }, "routes:"},
		{"edge routes not needed by control", false, func(c *Serve) { c.Routes = nil }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good(tc.embedded)
			tc.change(c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
}
