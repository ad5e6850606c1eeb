package config

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/smd-media/smd/internal/detect"
)

// Serve configures `smd serve` (control plane and edge in one process on
// an embedded NATS server) and `smd control` (control plane only, against
// external NATS). The edge's keys sit at the top level, as in an edge
// file; the control plane's under control:.
type Serve struct {
	Edge `yaml:",inline"`
	// Control is the control plane: API, key rotation.
	Control Control `yaml:"control"`
	// EmbeddedNATS is the NATS server smd serve runs in its process (its
	// data lives in <data_dir>/nats).
	EmbeddedNATS EmbeddedNATS `yaml:"embedded_nats"`
	// Detector revokes shared and restreamed sessions from the access
	// stream (see docs/detector.md); it runs in the control plane.
	Detector detect.Config `yaml:"detector"`
}

// EmbeddedNATS configures the NATS server inside smd serve.
type EmbeddedNATS struct {
	// Listen is a client address for other processes (more edges, the
	// CLI's NATS tools), e.g. 127.0.0.1:4222. Empty: in-process only.
	Listen string `yaml:"listen"`
}

// Control configures the control plane.
type Control struct {
	// Listen is the API's own address (smd control; optional for smd
	// serve, whose edge also serves the API under /v1/). Empty: none.
	Listen string `yaml:"listen"`
	// APIKeysFile lists the API keys (see docs/api.md). smd serve creates
	// one with an admin and an issuer key on first start. Default:
	// <data_dir>/api-keys.json.
	APIKeysFile string `yaml:"api_keys_file"`
	// PublicTokenEndpoint lets anyone call GET /v1/token (the demo),
	// rate-limited per client IP; otherwise it needs an issuer key.
	PublicTokenEndpoint bool `yaml:"public_token_endpoint"`
	// TokenRate and TokenBurst limit the public token endpoint per client
	// IP (requests per second and burst).
	TokenRate  float64 `yaml:"token_rate"`
	TokenBurst int     `yaml:"token_burst"`
	// TrustedProxies are the CIDRs whose X-Forwarded-For the API believes
	// (the edge in front of it).
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ClientIPHeader names the header in which a CDN among the trusted
	// proxies gives the caller's address, as the edge's client_ip_header.
	ClientIPHeader string `yaml:"client_ip_header"`
	// GeoHeaders reads the caller's country, region and city for the token
	// API from CloudFront-Viewer-* or CF-IPCountry headers of trusted
	// proxies.
	GeoHeaders bool `yaml:"geo_headers"`
	// PlaybackScheme is the scheme of playback URLs for assets whose
	// endpoint_hostname has none: https, http, or empty (the default): the
	// scheme of the listener the token request came to.
	PlaybackScheme string `yaml:"playback_scheme"`
	// MaxTokenLifetime caps the lifetime of issued tokens; keys are retired
	// this long (plus clock_skew) after they stop signing.
	MaxTokenLifetime Duration `yaml:"max_token_lifetime"`
	// RotationInterval is the age at which the primary key is rotated.
	RotationInterval Duration `yaml:"rotation_interval"`
	// RotationGrace is how long a rotation waits for every live edge to
	// hold the next key before it promotes anyway (and says so loudly).
	RotationGrace Duration `yaml:"rotation_grace"`
	// RequestSigning makes the API accept only requests signed by the edge
	// in front of it (HMAC, see docs/api.md), and the edge sign them.
	RequestSigning RequestSigning `yaml:"request_signing"`
	// Export writes the access stream to hourly gzip JSON files for
	// offline SQL (see docs/access.md).
	Export Export `yaml:"export"`
}

// Export configures the hourly files of access events.
type Export struct {
	// Dir receives dt=YYYY-MM-DD/hour=HH/<node>-<seq>.json.gz; empty
	// turns the export off. One control plane writes at a time (a lease);
	// give every control plane the same shared directory, or gather the
	// files of each.
	Dir string `yaml:"dir"`
	// Node names this control plane in the file names. Default: id.
	Node string `yaml:"node"`
	// Grace is how long an hour's file stays open after the hour ends,
	// for late events (those an edge spooled while NATS was away).
	Grace Duration `yaml:"grace"`
	// S3 uploads the closed files to S3-compatible object storage.
	S3 ExportS3 `yaml:"s3"`
}

// ExportS3 uploads the hourly files to an S3-compatible bucket under the
// same dt=/hour= names (docs/access.md).
type ExportS3 struct {
	// Endpoint is the server, host[:port]; empty turns uploads off.
	Endpoint string `yaml:"endpoint"`
	// Bucket receives the files; it must exist.
	Bucket string `yaml:"bucket"`
	// Prefix goes before each file's name ("smd/access/").
	Prefix string `yaml:"prefix"`
	// Region is the bucket's region (optional for most servers).
	Region string `yaml:"region"`
	// Insecure talks plain HTTP (a local server).
	Insecure bool `yaml:"insecure"`
	// AccessKeyFile and SecretKeyFile hold the credentials; empty: the
	// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY variables.
	AccessKeyFile string `yaml:"access_key_file"`
	SecretKeyFile string `yaml:"secret_key_file"`
	// Interval is the time between upload passes.
	Interval Duration `yaml:"interval"`
	// DeleteAfterUpload removes each local file once uploaded.
	DeleteAfterUpload bool `yaml:"delete_after_upload"`
}

// RequestSigning configures the HMAC signatures of forwarded API requests.
type RequestSigning struct {
	// Enabled turns the requirement on.
	Enabled bool `yaml:"enabled"`
	// KeyID names the signing secret.
	KeyID string `yaml:"key_id"`
	// SecretFile holds the shared secret (at least 32 bytes).
	SecretFile string `yaml:"secret_file"`
	// MaxSkew is how old (or how far ahead) a signed request may be.
	MaxSkew Duration `yaml:"max_skew"`
}

// DefaultControl returns the control plane's defaults.
func DefaultControl() Control {
	return Control{
		TokenRate:        5,
		TokenBurst:       20,
		MaxTokenLifetime: Duration(24 * time.Hour),
		RotationInterval: Duration(7 * 24 * time.Hour),
		RotationGrace:    Duration(5 * time.Minute),
		RequestSigning:   RequestSigning{KeyID: "edge", MaxSkew: Duration(5 * time.Minute)},
		Export:           Export{Grace: Duration(2 * time.Minute), S3: ExportS3{Interval: Duration(15 * time.Second)}},
	}
}

// DefaultServe returns the defaults of smd serve.
func DefaultServe() Serve {
	s := Serve{Edge: DefaultEdge(), Control: DefaultControl(), Detector: detect.DefaultConfig()}
	s.embeddedNATS = true
	return s
}

// LoadServe returns the defaults, overlaid with the YAML file at path (if
// not empty), then with SMD_* variables (SMD_LISTEN, SMD_CONTROL_LISTEN,
// ...). embedded says whether the process runs its own NATS (smd serve)
// or connects to nats.urls (smd control).
func LoadServe(path string, embedded bool, lookup func(string) (string, bool)) (*Serve, error) {
	c := DefaultServe()
	c.embeddedNATS = embedded
	if err := load(&c, path, "SMD", lookup); err != nil {
		return nil, err
	}
	return &c, nil
}

// Embedded reports whether the process runs its own NATS server.
func (c *Serve) Embedded() bool { return c.embeddedNATS }

// Validate checks the configuration; errors name the key.
func (c *Serve) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if c.embeddedNATS && c.NATS.Enabled() {
		bad("nats.urls", "set, but smd serve runs its own NATS; use smd control and smd edge for external NATS")
	}
	if !c.embeddedNATS && !c.NATS.Enabled() {
		bad("nats.urls", "required: smd control works against external NATS")
	}
	if c.EmbeddedNATS.Listen != "" {
		if _, _, err := net.SplitHostPort(c.EmbeddedNATS.Listen); err != nil {
			bad("embedded_nats.listen", "%q is not host:port", c.EmbeddedNATS.Listen)
		}
	}
	k := &c.Control
	if k.Listen != "" {
		if _, _, err := net.SplitHostPort(k.Listen); err != nil {
			bad("control.listen", "%q is not host:port", k.Listen)
		}
	}
	if k.PlaybackScheme != "http" && k.PlaybackScheme != "https" && k.PlaybackScheme != "" {
		bad("control.playback_scheme", "%q is not http, https or empty (the scheme of the listener the token request came to)", k.PlaybackScheme)
	}
	if k.TokenRate <= 0 {
		bad("control.token_rate", "must be positive")
	}
	if k.TokenBurst < 1 {
		bad("control.token_burst", "must be at least 1")
	}
	if k.MaxTokenLifetime < Duration(time.Minute) {
		bad("control.max_token_lifetime", "must be at least 1m")
	}
	if k.RotationInterval < Duration(time.Minute) {
		bad("control.rotation_interval", "must be at least 1m")
	}
	if k.RotationGrace <= 0 {
		bad("control.rotation_grace", "must be positive")
	}
	if k.RequestSigning.Enabled {
		if k.RequestSigning.KeyID == "" {
			bad("control.request_signing.key_id", "required when enabled")
		}
		if k.RequestSigning.SecretFile == "" {
			bad("control.request_signing.secret_file", "required when enabled")
		}
	}
	if k.RequestSigning.MaxSkew <= 0 {
		bad("control.request_signing.max_skew", "must be positive")
	}
	if err := c.Detector.Validate(); err != nil {
		errs = append(errs, err) // its messages name detector.<key>
	}
	if c.embeddedNATS && c.Detector.Enabled && !c.AccessStreamOn() {
		bad("detector.enabled", "needs the edge's access stream; access_stream.enabled is false")
	}
	if k.Export.Dir != "" {
		if k.Export.Grace <= 0 {
			bad("control.export.grace", "must be positive")
		}
		node := k.Export.Node
		if node == "" {
			node = c.ID
		}
		if node == "" || strings.ContainsAny(node, `/\`) || strings.HasPrefix(node, ".") {
			bad("control.export.node", "%q (default: id) is not usable in a file name", node)
		}
	}
	if h := k.ClientIPHeader; h != "" && !httpguts.ValidHeaderFieldName(h) {
		bad("control.client_ip_header", "%q is not a header name", h)
	}
	if s3 := k.Export.S3; s3.Endpoint != "" || s3.Bucket != "" {
		switch {
		case k.Export.Dir == "":
			bad("control.export.s3", "needs control.export.dir: the files uploaded are the export's")
		case s3.Endpoint == "" || strings.ContainsAny(s3.Endpoint, "/ "):
			bad("control.export.s3.endpoint", "%q is not host[:port]", s3.Endpoint)
		case s3.Bucket == "":
			bad("control.export.s3.bucket", "required with an endpoint")
		case strings.HasPrefix(s3.Prefix, "/"):
			bad("control.export.s3.prefix", "%q must not start with '/'", s3.Prefix)
		case s3.Interval < Duration(time.Second):
			bad("control.export.s3.interval", "must be at least 1s")
		case (s3.AccessKeyFile == "") != (s3.SecretKeyFile == ""):
			bad("control.export.s3.access_key_file", "access_key_file and secret_key_file go together")
		}
	}
	for i, p := range k.TrustedProxies {
		if !validPrefix(p) {
			bad(fmt.Sprintf("control.trusted_proxies[%d]", i), "%q is not a CIDR or an address", p)
		}
	}
	// The edge part: smd control runs no edge, but shares the file format;
	// its edge keys are checked only when an edge runs.
	if c.embeddedNATS {
		if err := c.Edge.Validate(); err != nil {
			errs = append(errs, err)
		}
	} else if c.DataDir == "" {
		bad("data_dir", "required")
	}
	return errors.Join(errs...)
}
