package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/smd-media/smd/token"
)

// Edge configures `smd edge`.
type Edge struct {
	// ID names this edge in access events and metrics. Default: the host name.
	ID string `yaml:"id"`
	// Mode is "serve" (the default: check, cache and serve media from the
	// routes' origins) or "auth" (answer only the verdict for the request
	// a forwarding proxy describes in its headers: nginx auth_request,
	// Caddy forward_auth, HAProxy, Envoy ext_authz, Traefik ForwardAuth;
	// the proxy caches and serves). docs/drop-in.md.
	Mode string `yaml:"mode"`
	// AuthPathPrefix, in auth mode, takes the original URI from the auth
	// request's own path after this prefix when the proxy sends no
	// X-Original-URI or X-Forwarded-Uri (Envoy ext_authz's path_prefix),
	// e.g. "/.smd-auth". Empty: off.
	AuthPathPrefix string `yaml:"auth_path_prefix"`
	// Listen is the HTTP address, e.g. ":8080". Empty turns plain HTTP off.
	Listen string `yaml:"listen"`
	// TLS serves HTTPS (with HTTP/2) when Listen and both files are set.
	TLS TLS `yaml:"tls"`
	// Admin is the separate listener for metrics, health and profiling.
	Admin Admin `yaml:"admin"`
	// KeysFile holds the verification keys: a JSON map {kid: secret} or
	// SMDE's Secrets Manager export. Required unless every route is "off".
	KeysFile string `yaml:"keys_file"`
	// RevokedFile lists revoked session ids, one per line ('#' comments).
	// It is re-read when it changes. Optional.
	RevokedFile string `yaml:"revoked_file"`
	// RevokedReload is how often RevokedFile is checked for changes.
	RevokedReload Duration `yaml:"revoked_reload"`
	// KeysReload is how often KeysFile is checked for changes.
	KeysReload Duration `yaml:"keys_reload"`
	// ClockSkew is how far a token's exp and nbf may be overstepped.
	ClockSkew Duration `yaml:"clock_skew"`
	// TrustedProxies are the CIDRs of proxies or CDNs in front of the edge:
	// only from them are X-Forwarded-For, Forwarded and geo headers believed.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// ClientIPHeader names the header in which a CDN among the trusted
	// proxies gives the viewer's address (CloudFront-Viewer-Address,
	// CF-Connecting-IP, True-Client-IP), believed before X-Forwarded-For;
	// empty: the X-Forwarded-For walk (docs/edge.md, "Behind a CDN").
	ClientIPHeader string `yaml:"client_ip_header"`
	// Geo says where viewer locations come from.
	Geo Geo `yaml:"geo"`
	// CORS lets players on other sites fetch media.
	CORS CORS `yaml:"cors"`
	// Cache bounds the in-memory object cache.
	Cache Cache `yaml:"cache"`
	// Origin sets the timeouts of origin fetches.
	Origin Origin `yaml:"origin"`
	// Server sets the timeouts of viewer connections.
	Server Server `yaml:"server"`
	// Status overrides the HTTP status answered per rejection reason (see
	// docs/tokens.md), plus "revoked"; e.g. {expired: 410, revoked: 410}.
	Status map[string]int `yaml:"status"`
	// Routes map origin path prefixes to origins; the longest prefix wins.
	Routes []Route `yaml:"routes"`
	// AccessLog writes one JSON line per request.
	AccessLog AccessLog `yaml:"access_log"`
	// AccessStream publishes one event per request to the control plane's
	// access stream in NATS (the detector's and the export's input),
	// spooling to local disk while NATS is away.
	AccessStream AccessStream `yaml:"access_stream"`
	// NATS connects the edge to the control plane's state: keys and
	// revocations come from it (then keys_file and revoked_file are not
	// needed), and the edge reports heartbeats to it.
	NATS NATS `yaml:"nats"`
	// DataDir holds local state: the snapshots of the key ring and the
	// revoked sessions an edge starts from when NATS is unreachable; for
	// smd serve also the embedded NATS data, the master key and the API
	// keys. Default "smd-data".
	DataDir string `yaml:"data_dir"`
	// MasterKeyFile holds the master key that decrypts the signing keys
	// stored in NATS (32 random bytes, base64 or hex). Default:
	// <data_dir>/master.key; the SMD_MASTER_KEY environment variable
	// takes precedence. smd serve creates it on first start.
	MasterKeyFile string `yaml:"master_key_file"`

	// API forwards /v1/ requests to a control plane's API, signed (one
	// hostname for site, API and media).
	API APIProxy `yaml:"api"`
	// Dashboard serves the operator's dashboard at /dashboard/ on the
	// edge's listeners, calling the API through the edge's /v1/ (smd
	// serve, or smd edge with api.url).
	Dashboard Dashboard `yaml:"dashboard"`

	// embeddedNATS is set by Serve: the process runs its own NATS server.
	embeddedNATS bool
}

// Dashboard configures the operator's dashboard (docs/demo.md).
type Dashboard struct {
	// Enabled mounts it at /dashboard/.
	Enabled bool `yaml:"enabled"`
	// SessionTTL is how long a login lasts (default 12h).
	SessionTTL Duration `yaml:"session_ttl"`
}

// APIProxy makes the edge forward /v1/ to a control plane.
type APIProxy struct {
	// URL is the control plane's API, e.g. http://control:8000. Empty: no
	// forwarding.
	URL string `yaml:"url"`
	// KeyID and SecretFile sign the forwarded requests (HMAC; the control
	// plane's control.request_signing holds the same secret).
	KeyID      string `yaml:"key_id"`
	SecretFile string `yaml:"secret_file"`
}

// NATS is a connection to external NATS servers.
type NATS struct {
	// URLs are the servers, e.g. [nats://n1:4222, nats://n2:4222]. Empty:
	// no NATS (smd edge), or the embedded server (smd serve).
	URLs []string `yaml:"urls"`
	// CredsFile is a NATS credentials file (JWT and NKey seed).
	CredsFile string `yaml:"creds_file"`
	// NKeyFile is an NKey seed file.
	NKeyFile string `yaml:"nkey_file"`
	// User and Password, or Token, authenticate without a credentials file.
	User     string `yaml:"user"`
	Password string `yaml:"password"`
	Token    string `yaml:"token"`
	// CAFile verifies the servers' certificates; CertFile and KeyFile are a
	// client certificate for mutual TLS.
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Replicas is the JetStream replica count of the buckets and the
	// stream: 1 on one server, 3 on a cluster of 3 or 5. Default 1.
	Replicas int `yaml:"replicas"`
	// Heartbeat is how often an edge reports itself in the edges bucket.
	Heartbeat Duration `yaml:"heartbeat"`
}

// Enabled reports whether external NATS servers are configured.
func (n *NATS) Enabled() bool { return len(n.URLs) > 0 }

// TLS is the HTTPS listener.
type TLS struct {
	// Listen is the HTTPS address, e.g. ":8443".
	Listen string `yaml:"listen"`
	// CertFile and KeyFile are PEM files; the certificate file may hold the chain.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Reload is how often the two files are checked for changes (0: never;
	// SIGHUP only); a new pair is used for new handshakes, open
	// connections keep theirs. They are also read again on SIGHUP.
	Reload Duration `yaml:"reload"`
	// MinVersion is the lowest TLS version accepted: "1.2" (the default)
	// or "1.3".
	MinVersion string `yaml:"min_version"`
	// CipherSuites are the TLS 1.2 cipher suites accepted, by their
	// standard names (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ...);
	// empty: Go's secure defaults. TLS 1.3's suites are not configurable.
	CipherSuites []string `yaml:"cipher_suites"`
	// CurvePreferences are the key exchanges offered, in order of
	// preference, by name: X25519MLKEM768 (post-quantum hybrid), X25519,
	// P256, P384, P521; empty: Go's defaults (X25519MLKEM768 first).
	CurvePreferences []string `yaml:"curve_preferences"`
	// OCSPStapling staples the certificate's OCSP answer to handshakes
	// when the certificate names an OCSP responder and cert_file holds
	// its issuer after it (default true). ACME certificates are stapled
	// by the ACME manager.
	OCSPStapling bool `yaml:"ocsp_stapling"`
	// SessionTicketKeyFiles hold TLS session ticket keys (32 random bytes
	// each, raw or hex): the first encrypts new tickets, all decrypt.
	// Edges that share them resume each other's viewers' sessions. Read at
	// start and on SIGHUP. Empty: Go's own keys, per process, rotated daily.
	SessionTicketKeyFiles []string `yaml:"session_ticket_key_files"`
	// ACME gets and renews the certificate from an ACME CA instead of
	// cert_file and key_file.
	ACME ACME `yaml:"acme"`
	// HTTP3 serves HTTP/3 over QUIC beside the HTTPS listener.
	HTTP3 HTTP3 `yaml:"http3"`
}

// HTTP3 is the QUIC listener.
type HTTP3 struct {
	// Listen is the UDP address, usually tls.listen's; empty: off.
	Listen string `yaml:"listen"`
	// AdvertisePort is the UDP port announced in Alt-Svc on HTTPS
	// responses (the one viewers reach, behind a load balancer); 0: the
	// listener's.
	AdvertisePort int `yaml:"advertise_port"`
}

// ACME configures automatic certificates (internal/acme).
type ACME struct {
	// Domains to get a certificate for; setting them turns ACME on.
	Domains []string `yaml:"domains"`
	// Email is the ACME account's contact; optional.
	Email string `yaml:"email"`
	// CA is the directory URL; Let's Encrypt's production CA when empty.
	CA string `yaml:"ca"`
	// CARootFile holds PEM roots to trust for the CA's API (a private
	// CA); optional.
	CARootFile string `yaml:"ca_root_file"`
	// Challenges the edge answers: http-01 (on listen), tls-alpn-01 (on
	// tls.listen); both when empty.
	Challenges []string `yaml:"challenges"`
	// StorageDir keeps the account and the certificates. Default:
	// <data_dir>/acme.
	StorageDir string `yaml:"storage_dir"`
	// RenewCheckInterval is how often certificates are checked for
	// renewal; 0: every 10 minutes.
	RenewCheckInterval Duration `yaml:"renew_check_interval"`
}

// Enabled reports whether ACME manages the certificate.
func (a *ACME) Enabled() bool { return len(a.Domains) > 0 }

// TLSVersion is the crypto/tls constant of a min_version value.
func TLSVersion(v string) (uint16, bool) {
	switch v {
	case "", "1.2":
		return tls.VersionTLS12, true
	case "1.3":
		return tls.VersionTLS13, true
	}
	return 0, false
}

// CipherSuiteIDs are the IDs of cipher suite names; insecure suites and
// unknown names are refused.
func CipherSuiteIDs(names []string) ([]uint16, error) {
	secure := map[string]uint16{}
	for _, c := range tls.CipherSuites() {
		secure[c.Name] = c.ID
	}
	ids := make([]uint16, 0, len(names))
	for _, n := range names {
		id, ok := secure[n]
		if !ok {
			return nil, fmt.Errorf("%q is not a secure TLS cipher suite's name (see Go's crypto/tls.CipherSuites)", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// CurveIDs are the crypto/tls IDs of key exchange names.
func CurveIDs(names []string) ([]tls.CurveID, error) {
	known := map[string]tls.CurveID{
		"X25519MLKEM768": tls.X25519MLKEM768, "X25519": tls.X25519,
		"P256": tls.CurveP256, "P384": tls.CurveP384, "P521": tls.CurveP521,
	}
	ids := make([]tls.CurveID, 0, len(names))
	for _, n := range names {
		id, ok := known[n]
		if !ok {
			return nil, fmt.Errorf("%q is not X25519MLKEM768, X25519, P256, P384 or P521", n)
		}
		if slices.Contains(ids, id) {
			return nil, fmt.Errorf("%q is listed twice", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Admin is the admin listener.
type Admin struct {
	// Listen is the address of /metrics, /healthz and /readyz. Keep it
	// private. Empty turns it off.
	Listen string `yaml:"listen"`
	// Pprof serves /debug/pprof/ on the admin listener.
	Pprof bool `yaml:"pprof"`
}

// Geo is the source of viewer locations.
type Geo struct {
	// Source is "none", "mmdb" (a MaxMind City or Country database) or
	// "headers" (CloudFront-Viewer-Country, -Country-Region, -City, or
	// CF-IPCountry, from trusted proxies only).
	Source string `yaml:"source"`
	// MMDBFile is the MaxMind database for source "mmdb".
	MMDBFile string `yaml:"mmdb_file"`
	// ASNFile is a MaxMind ASN database (GeoLite2-ASN): each access
	// event then names the viewer's network operator (asn), which the
	// detector counts. With source "headers", CloudFront-Viewer-ASN from
	// trusted proxies gives it when present; optional.
	ASNFile string `yaml:"asn_mmdb_file"`
}

// CORS is cross-origin access for web players.
type CORS struct {
	// AllowedOrigins are the web origins allowed to fetch media, e.g.
	// "https://portal.example.com", or "*" for any. Empty: no CORS headers.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// MaxAge is how long browsers may cache a preflight answer.
	MaxAge Duration `yaml:"max_age"`
}

// Cache bounds the object cache.
type Cache struct {
	// MaxBytes bounds the bytes of cached objects held in memory.
	MaxBytes ByteSize `yaml:"max_bytes"`
	// MaxObjectBytes: larger objects pass through uncached.
	MaxObjectBytes ByteSize `yaml:"max_object_bytes"`
	// PlaylistTTL applies to .m3u8 and .mpd without Cache-Control or Expires.
	PlaylistTTL Duration `yaml:"playlist_ttl"`
	// SegmentTTL applies to other objects without Cache-Control or Expires.
	SegmentTTL Duration `yaml:"segment_ttl"`
	// StaleIfError serves an expired object this long past expiry while the
	// origin fails.
	StaleIfError Duration `yaml:"stale_if_error"`
}

// Origin sets origin fetch timeouts.
type Origin struct {
	// ConnectTimeout bounds the TCP (and TLS) connection to the origin.
	ConnectTimeout Duration `yaml:"connect_timeout"`
	// ResponseHeaderTimeout bounds the wait for the origin's first byte;
	// past it the viewer gets 504.
	ResponseHeaderTimeout Duration `yaml:"response_header_timeout"`
	// ReadTimeout bounds each wait for more body bytes.
	ReadTimeout Duration `yaml:"read_timeout"`
	// FetchTimeout bounds a whole origin fetch, headers and body; 0: none.
	FetchTimeout Duration `yaml:"fetch_timeout"`
	// MinRate is the slowest origin body accepted, in bytes per second,
	// judged over each MinRateWindow spent waiting on the origin; 0: none.
	MinRate ByteSize `yaml:"min_rate"`
	// MinRateWindow is the window of MinRate.
	MinRateWindow Duration `yaml:"min_rate_window"`
}

// Server sets viewer connection timeouts.
type Server struct {
	// ReadHeaderTimeout stops clients that send headers slowly (slowloris).
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// IdleTimeout closes keep-alive connections idle this long.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// WriteTimeout bounds a whole response; 0 means none, since a large
	// segment to a slow viewer may take long. Slow readers are still
	// bounded by the kernel's send buffer and IdleTimeout.
	WriteTimeout Duration `yaml:"write_timeout"`
	// MaxHeaderBytes bounds request headers.
	MaxHeaderBytes ByteSize `yaml:"max_header_bytes"`
	// MaxConnections bounds the viewer connections open at once (plain
	// and HTTPS listeners together); at the limit new ones wait in the
	// kernel's listen queue until one closes. 0: sized for the machine
	// (three quarters of the file descriptor limit, at most one per 64 KiB
	// of memory).
	MaxConnections int `yaml:"max_connections"`
	// ShutdownTimeout is how long in-flight requests may finish on stop.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
	// Engine serves HTTP/1.1 on the plain and HTTPS listeners: "lean"
	// (smd's own HTTP/1.1 server, internal/h1, which costs a cache hit
	// far less CPU) or "net/http" (Go's standard server). HTTP/2, the
	// admin listener and listeners with mounted handlers always run
	// net/http.
	Engine string `yaml:"engine"`
	// GCFloor is the heap size below which the Go runtime does not
	// collect garbage (internal/gcfloor): GOGC is raised while the live
	// heap is small and is back to 100 once the live heap is above half
	// of it. 0 turns it off; a GOGC environment variable turns it off too.
	GCFloor ByteSize `yaml:"gc_floor"`
}

// Server engines.
const (
	EngineLean    = "lean"
	EngineNetHTTP = "net/http"
)

// Route sends requests under a path prefix to an origin.
type Route struct {
	// Prefix is matched against the origin path (the path after the token),
	// e.g. "/vod/".
	Prefix string `yaml:"prefix"`
	// Origin is the base URL the origin path is appended to, e.g.
	// "http://127.0.0.1:8081".
	Origin string `yaml:"origin"`
	// Mode is "enforce" (refuse bad tokens: the default), "log" (check,
	// log and count, but serve: to roll token checks out without breaking
	// viewers) or "off" (no check).
	Mode string `yaml:"mode"`
}

// AccessLog is the access event file.
type AccessLog struct {
	// File receives JSON lines; "-" is standard output; empty turns it off.
	File string `yaml:"file"`
	// MaxSize rotates the file past this size.
	MaxSize ByteSize `yaml:"max_size"`
	// MaxBackups is how many rotated files are kept.
	MaxBackups int `yaml:"max_backups"`
	// MaxAge removes rotated files older than this.
	MaxAge Duration `yaml:"max_age"`
	// Buffer is how many events wait in memory for the writer; when full,
	// events are dropped and counted, never delaying a response.
	Buffer int `yaml:"buffer"`
}

// AccessStream publishes access events to NATS (see docs/access.md).
type AccessStream struct {
	// Enabled turns publishing on or off. Default: on when NATS is
	// configured (nats.urls, or smd serve's embedded server), else off.
	Enabled *bool `yaml:"enabled"`
	// SpoolDir holds the events waiting for NATS. Default:
	// <data_dir>/access-spool.
	SpoolDir string `yaml:"spool_dir"`
	// SpoolMaxBytes bounds the spool's files; past it, events are dropped
	// and counted.
	SpoolMaxBytes ByteSize `yaml:"spool_max_bytes"`
	// SpoolSync is how often spooled events are fsynced: a machine crash
	// loses at most this much of the spool. 0 fsyncs every write.
	SpoolSync Duration `yaml:"spool_sync"`
	// Queue and QueueBytes bound the events of sealed batches waiting in
	// memory for the publishing goroutine; a batch sealed when they are
	// full is dropped and its events counted, never delaying a response.
	Queue      int      `yaml:"queue"`
	QueueBytes ByteSize `yaml:"queue_bytes"`
	// Batch is the most events in one message: an edge publishes the
	// events of a partition together, as one message (a batch), once
	// this many are there, at 64 KiB, or 20ms after the first (see
	// docs/access.md).
	Batch int `yaml:"batch"`
	// BatchBytes is the most bytes of events in one message (default
	// 64 KiB, at most 512 KiB: NATS refuses messages over 1 MiB by default).
	BatchBytes ByteSize `yaml:"batch_bytes"`
	// Linger is the longest an event waits for its batch to fill
	// (default 20ms): the detector sees a quiet edge's events this late.
	Linger Duration `yaml:"linger"`
	// MaxPending bounds the events published and not yet acknowledged;
	// when as many more wait, they go to the spool.
	MaxPending int `yaml:"max_pending"`
	// AckTimeout is how long an acknowledgement may take before the
	// events are spooled and sent again.
	AckTimeout Duration `yaml:"ack_timeout"`
}

// AccessStreamOn reports whether the edge publishes access events.
func (c *Edge) AccessStreamOn() bool {
	if c.AccessStream.Enabled != nil {
		return *c.AccessStream.Enabled
	}
	return c.NATS.Enabled() || c.embeddedNATS
}

// AccessSpoolDir is access_stream.spool_dir or its default.
func (c *Edge) AccessSpoolDir() string {
	if c.AccessStream.SpoolDir != "" {
		return c.AccessStream.SpoolDir
	}
	return filepath.Join(c.DataDir, "access-spool")
}

// Route modes.
const (
	ModeEnforce = "enforce"
	ModeLog     = "log"
	ModeOff     = "off"
)

// validPrefix reports whether s is a CIDR or a single address.
func validPrefix(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}

// redactURL hides the user information of a URL in messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	return s
}

// DefaultEdge returns the defaults.
func DefaultEdge() Edge {
	host, _ := os.Hostname()
	return Edge{
		ID:            host,
		Listen:        ":8080",
		Admin:         Admin{Listen: "127.0.0.1:9090"},
		TLS:           TLS{Reload: Duration(30 * time.Second), MinVersion: "1.2", OCSPStapling: true},
		RevokedReload: Duration(5 * time.Second),
		KeysReload:    Duration(5 * time.Second),
		Geo:           Geo{Source: "none"},
		CORS:          CORS{MaxAge: Duration(time.Hour)},
		Cache: Cache{
			MaxBytes:       512 << 20,
			MaxObjectBytes: 64 << 20,
			PlaylistTTL:    Duration(2 * time.Second),
			SegmentTTL:     Duration(24 * time.Hour),
			StaleIfError:   Duration(time.Minute),
		},
		Origin: Origin{
			ConnectTimeout:        Duration(3 * time.Second),
			ResponseHeaderTimeout: Duration(10 * time.Second),
			ReadTimeout:           Duration(30 * time.Second),
			FetchTimeout:          Duration(5 * time.Minute),
			MinRate:               1 << 10,
			MinRateWindow:         Duration(10 * time.Second),
		},
		Server: Server{
			ReadHeaderTimeout: Duration(10 * time.Second),
			IdleTimeout:       Duration(2 * time.Minute),
			MaxHeaderBytes:    64 << 10,
			ShutdownTimeout:   Duration(10 * time.Second),
			Engine:            EngineLean,
			GCFloor:           64 << 20,
		},
		AccessLog: AccessLog{MaxSize: 100 << 20, MaxBackups: 10, MaxAge: Duration(7 * 24 * time.Hour), Buffer: 65536},
		NATS:      NATS{Replicas: 1, Heartbeat: Duration(5 * time.Second)},
		DataDir:   "smd-data",
		AccessStream: AccessStream{SpoolMaxBytes: 1 << 30, SpoolSync: Duration(time.Second), Queue: 16384, QueueBytes: 32 << 20,
			Batch: 128, BatchBytes: 64 << 10, Linger: Duration(20 * time.Millisecond), MaxPending: 4096, AckTimeout: Duration(5 * time.Second)},
	}
}

// statusKeys are the keys Status accepts.
func statusKeys() map[string]bool {
	m := map[string]bool{"revoked": true}
	for _, r := range token.Reasons {
		m[string(r)] = true
	}
	return m
}

// Edge modes (Edge.Mode).
const (
	// EdgeServe checks, caches and serves media (the default).
	EdgeServe = "serve"
	// EdgeAuth answers only the verdict, for a forwarding proxy.
	EdgeAuth = "auth"
)

// Validate checks the configuration; errors name the key.
func (c *Edge) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	if c.ID == "" {
		bad("id", "empty")
	}
	if c.Listen == "" && c.TLS.Listen == "" {
		bad("listen", "neither listen nor tls.listen is set")
	}
	if h := c.TLS.HTTP3; h.Listen != "" {
		if c.TLS.Listen == "" {
			bad("tls.http3.listen", "set but tls.listen is not: HTTP/3 is announced on the HTTPS listener's answers")
		}
		if _, _, err := net.SplitHostPort(h.Listen); err != nil {
			bad("tls.http3.listen", "%q is not a host:port", h.Listen)
		}
	}
	if p := c.TLS.HTTP3.AdvertisePort; p < 0 || p > 65535 {
		bad("tls.http3.advertise_port", "%d is not a port", p)
	}
	if a := c.TLS.ACME; a.Enabled() {
		if c.TLS.CertFile != "" || c.TLS.KeyFile != "" {
			bad("tls.acme", "set together with cert_file or key_file: the certificate comes from one of them; remove one")
		}
		if c.TLS.Listen == "" {
			bad("tls.acme", "set but tls.listen is not")
		}
		for i, ch := range a.Challenges {
			if ch != "http-01" && ch != "tls-alpn-01" {
				bad(fmt.Sprintf("tls.acme.challenges[%d]", i), "%q is not http-01 or tls-alpn-01", ch)
			}
		}
		if c.Listen == "" && slices.Equal(a.Challenges, []string{"http-01"}) {
			bad("tls.acme.challenges", "only http-01, but listen (plain HTTP, where the CA validates it) is off")
		}
		if a.CA != "" {
			if u, err := url.Parse(a.CA); err != nil || u.Scheme != "https" || u.Host == "" {
				bad("tls.acme.ca", "%q is not an https:// ACME directory URL", a.CA)
			}
		}
		for i, d := range a.Domains {
			if d == "" || strings.ContainsAny(d, "/: ") {
				bad(fmt.Sprintf("tls.acme.domains[%d]", i), "%q is not a domain name", d)
			}
		}
		if a.RenewCheckInterval < 0 {
			bad("tls.acme.renew_check_interval", "must not be negative")
		}
	} else if c.TLS.Listen != "" && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		bad("tls", "listen is set but cert_file or key_file is not (or tls.acme.domains)")
	}
	if c.TLS.Reload < 0 {
		bad("tls.reload", "must not be negative")
	}
	if _, ok := TLSVersion(c.TLS.MinVersion); !ok {
		bad("tls.min_version", "%q is not 1.2 or 1.3", c.TLS.MinVersion)
	}
	if _, err := CurveIDs(c.TLS.CurvePreferences); err != nil {
		bad("tls.curve_preferences", "%v", err)
	}
	if _, err := CipherSuiteIDs(c.TLS.CipherSuites); err != nil {
		bad("tls.cipher_suites", "%v", err)
	}
	auth := false
	switch c.Mode {
	case "", EdgeServe:
	case EdgeAuth:
		auth = true
	default:
		bad("mode", "%q is not serve or auth", c.Mode)
	}
	if c.AuthPathPrefix != "" {
		if !auth {
			bad("auth_path_prefix", "set, but mode is not auth")
		} else if n, err := token.NormalizePath(c.AuthPathPrefix); err != nil || n != c.AuthPathPrefix || strings.HasSuffix(n, "/") {
			bad("auth_path_prefix", "%q is not a normalized path without a trailing '/', e.g. /.smd-auth", c.AuthPathPrefix)
		}
	}
	if len(c.Routes) == 0 && !auth {
		bad("routes", "at least one route is needed, e.g. {prefix: /, origin: http://127.0.0.1:8081}")
	}
	needKeys := auth && len(c.Routes) == 0 // auth mode's default route "/" checks tokens
	seen := map[string]bool{}
	for i, r := range c.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		if !strings.HasPrefix(r.Prefix, "/") {
			bad(key+".prefix", "%q must start with '/'", r.Prefix)
		} else if n, err := token.NormalizePath(r.Prefix); err != nil || n != r.Prefix {
			bad(key+".prefix", "%q is not a normalized path", r.Prefix)
		}
		if seen[r.Prefix] {
			bad(key+".prefix", "%q appears twice", r.Prefix)
		}
		seen[r.Prefix] = true
		u, err := url.Parse(r.Origin)
		if (r.Origin != "" || !auth) && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "") {
			bad(key+".origin", "%q is not an http(s)://host[:port][/path] URL", r.Origin)
		}
		switch r.Mode {
		case "", ModeEnforce, ModeLog:
			needKeys = true
		case ModeOff:
		default:
			bad(key+".mode", "%q is not enforce, log or off", r.Mode)
		}
	}
	if needKeys && c.KeysFile == "" && !c.NATS.Enabled() && !c.embeddedNATS {
		bad("keys_file", "required: a route checks tokens and no nats.urls are set")
	}
	if c.KeysFile != "" && (c.NATS.Enabled() || c.embeddedNATS) {
		bad("keys_file", "set together with NATS: keys come from NATS; remove one")
	}
	for i, u := range c.NATS.URLs {
		if pu, err := url.Parse(u); err != nil || pu.Host == "" || (pu.Scheme != "nats" && pu.Scheme != "tls" && pu.Scheme != "ws" && pu.Scheme != "wss") {
			bad(fmt.Sprintf("nats.urls[%d]", i), "%q is not a nats://host:port URL", redactURL(u))
		}
	}
	if c.API.URL != "" {
		if u, err := url.Parse(c.API.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("api.url", "%q is not an http(s)://host[:port] URL", c.API.URL)
		}
		if c.API.KeyID == "" || c.API.SecretFile == "" {
			bad("api.secret_file", "api.key_id and api.secret_file are required with api.url")
		}
	}
	if c.Dashboard.Enabled && c.API.URL == "" && !c.embeddedNATS {
		bad("dashboard.enabled", "the dashboard calls the API through this edge's /v1/: set api.url (or run smd serve)")
	}
	if c.Dashboard.SessionTTL < 0 {
		bad("dashboard.session_ttl", "must not be negative")
	}
	if (c.NATS.CertFile == "") != (c.NATS.KeyFile == "") {
		bad("nats.cert_file", "cert_file and key_file go together")
	}
	if c.NATS.Replicas < 1 || c.NATS.Replicas > 5 {
		bad("nats.replicas", "%d is not between 1 and 5", c.NATS.Replicas)
	}
	if c.NATS.Heartbeat <= 0 {
		bad("nats.heartbeat", "must be positive")
	}
	if (c.NATS.Enabled() || c.embeddedNATS) && c.DataDir == "" {
		bad("data_dir", "required with NATS (snapshots live there)")
	}
	for i, p := range c.TrustedProxies {
		if !validPrefix(p) {
			bad(fmt.Sprintf("trusted_proxies[%d]", i), "%q is not a CIDR or an address", p)
		}
	}
	if h := c.ClientIPHeader; h != "" && !httpguts.ValidHeaderFieldName(h) {
		bad("client_ip_header", "%q is not a header name", h)
	}
	if c.ClientIPHeader != "" && len(c.TrustedProxies) == 0 {
		bad("client_ip_header", "set, but trusted_proxies is empty: the header is believed only from them")
	}
	switch c.Geo.Source {
	case "none", "headers":
	case "mmdb":
		if c.Geo.MMDBFile == "" {
			bad("geo.mmdb_file", "required when geo.source is mmdb")
		}
	default:
		bad("geo.source", "%q is not none, mmdb or headers", c.Geo.Source)
	}
	for i, o := range c.CORS.AllowedOrigins {
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad(fmt.Sprintf("cors.allowed_origins[%d]", i), "%q is not * or scheme://host[:port]", o)
		}
	}
	keys := statusKeys()
	for k, v := range c.Status {
		if !keys[k] {
			bad("status."+k, "unknown reason")
		}
		if v < 400 || v > 599 {
			bad("status."+k, "%d is not a 4xx or 5xx status", v)
		}
	}
	if c.Cache.MaxBytes <= 0 {
		bad("cache.max_bytes", "must be positive")
	}
	if c.Cache.MaxObjectBytes <= 0 || c.Cache.MaxObjectBytes > c.Cache.MaxBytes {
		bad("cache.max_object_bytes", "must be positive and at most cache.max_bytes")
	}
	for key, d := range map[string]Duration{
		"origin.connect_timeout": c.Origin.ConnectTimeout, "origin.response_header_timeout": c.Origin.ResponseHeaderTimeout,
		"origin.read_timeout": c.Origin.ReadTimeout, "server.read_header_timeout": c.Server.ReadHeaderTimeout,
		"server.idle_timeout": c.Server.IdleTimeout, "revoked_reload": c.RevokedReload, "keys_reload": c.KeysReload,
	} {
		if d <= 0 {
			bad(key, "must be positive")
		}
	}
	if c.AccessLog.Buffer <= 0 {
		bad("access_log.buffer", "must be positive")
	}
	if c.Origin.FetchTimeout < 0 {
		bad("origin.fetch_timeout", "must not be negative (0: no bound)")
	}
	if c.Origin.MinRate < 0 {
		bad("origin.min_rate", "must not be negative (0: no minimum)")
	}
	if c.Origin.MinRate > 0 && c.Origin.MinRateWindow <= 0 {
		bad("origin.min_rate_window", "must be positive when origin.min_rate is set")
	}
	if c.Server.MaxConnections < 0 {
		bad("server.max_connections", "must not be negative (0: sized for the machine)")
	}
	if as := c.AccessStream; c.AccessStreamOn() {
		if !c.NATS.Enabled() && !c.embeddedNATS {
			bad("access_stream.enabled", "true, but no nats.urls are set: the stream lives in NATS")
		}
		if c.DataDir == "" && as.SpoolDir == "" {
			bad("access_stream.spool_dir", "required when data_dir is empty")
		}
		if as.SpoolMaxBytes < 1<<20 {
			bad("access_stream.spool_max_bytes", "%v is less than 1MiB", as.SpoolMaxBytes)
		}
		if as.SpoolSync < 0 {
			bad("access_stream.spool_sync", "must not be negative")
		}
		if as.Queue <= 0 {
			bad("access_stream.queue", "must be positive")
		}
		if as.QueueBytes < 1<<20 {
			bad("access_stream.queue_bytes", "%v is less than 1MiB", as.QueueBytes)
		}
		if as.MaxPending <= 0 {
			bad("access_stream.max_pending", "must be positive")
		}
		if as.Batch <= 0 || as.Batch > as.MaxPending {
			bad("access_stream.batch", "must be positive and at most access_stream.max_pending")
		}
		if as.AckTimeout <= 0 {
			bad("access_stream.ack_timeout", "must be positive")
		}
		if as.BatchBytes < 1<<10 || as.BatchBytes > 512<<10 {
			bad("access_stream.batch_bytes", "must be from 1KiB to 512KiB")
		}
		if as.Linger < Duration(time.Millisecond) || as.Linger > Duration(time.Second) {
			bad("access_stream.linger", "must be from 1ms to 1s (the detector waits for it)")
		}
	}
	if c.Server.Engine != EngineLean && c.Server.Engine != EngineNetHTTP {
		bad("server.engine", "%q is not lean or net/http", c.Server.Engine)
	}
	return errors.Join(errs...)
}
