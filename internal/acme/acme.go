// Package acme gets and renews the edge's HTTPS certificates from an ACME
// certificate authority (Let's Encrypt, ZeroSSL, a private CA) with
// certmagic, Caddy's ACME library: the HTTP-01 challenge on the edge's
// plain listener, TLS-ALPN-01 on its HTTPS listener, the account and the
// certificates kept on disk, renewal before expiry, OCSP stapled where
// the CA offers it.
//
// It must not import the control plane or the request pipeline:
// internal/node wires it into the edge's listeners.
package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/caddyserver/certmagic"
)

// Challenges the edge answers.
const (
	HTTP01    = "http-01"
	TLSALPN01 = "tls-alpn-01"
)

// LetsEncrypt is the default CA's directory.
const LetsEncrypt = certmagic.LetsEncryptProductionCA

// Config says what to manage and with which CA.
type Config struct {
	// Domains are the names to get certificates for (at least one).
	Domains []string
	// Email is the ACME account's contact; optional.
	Email string
	// CA is the directory URL; LetsEncrypt when empty.
	CA string
	// CARootFile holds PEM roots trusted for the CA's own API (a private
	// CA); the system's roots when empty.
	CARootFile string
	// Challenges are the ones the edge answers: HTTP01, TLSALPN01 (both
	// when empty).
	Challenges []string
	// StorageDir keeps the account and the certificates.
	StorageDir string
	// RenewCheckInterval is how often certificates are checked for
	// renewal (certmagic's default, 10 minutes, when 0).
	RenewCheckInterval time.Duration
	// Log receives what certmagic reports.
	Log *slog.Logger
}

// Manager holds the managed certificates.
type Manager struct {
	cfg     *certmagic.Config
	issuer  *certmagic.ACMEIssuer
	cache   *certmagic.Cache
	domains []string
}

// New prepares the manager; Start begins getting certificates.
func New(c Config) (*Manager, error) {
	if len(c.Domains) == 0 {
		return nil, errors.New("acme: no domains")
	}
	if c.StorageDir == "" {
		return nil, errors.New("acme: no storage directory")
	}
	for _, ch := range c.Challenges {
		if ch != HTTP01 && ch != TLSALPN01 {
			return nil, fmt.Errorf("acme: challenge %q is not %s or %s", ch, HTTP01, TLSALPN01)
		}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	zl := zapLogger(c.Log)
	m := &Manager{domains: slices.Clone(c.Domains)}
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return m.cfg, nil },
		RenewCheckInterval: c.RenewCheckInterval,
		Logger:             zl,
	})
	m.cfg = certmagic.New(m.cache, certmagic.Config{
		Storage:           &certmagic.FileStorage{Path: c.StorageDir},
		DefaultServerName: c.Domains[0], // clients that send no name (by address)
		Logger:            zl,
	})
	tmpl := certmagic.ACMEIssuer{
		CA:                      c.CA,
		Email:                   c.Email,
		Agreed:                  true,
		DisableHTTPChallenge:    len(c.Challenges) > 0 && !slices.Contains(c.Challenges, HTTP01),
		DisableTLSALPNChallenge: len(c.Challenges) > 0 && !slices.Contains(c.Challenges, TLSALPN01),
		Logger:                  zl,
	}
	if tmpl.CA == "" {
		tmpl.CA = LetsEncrypt
	}
	if c.CARootFile != "" {
		b, err := os.ReadFile(c.CARootFile)
		if err != nil {
			return nil, fmt.Errorf("acme: ca_root_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("acme: ca_root_file %s holds no PEM certificate", c.CARootFile)
		}
		tmpl.TrustedRoots = pool
	}
	m.issuer = certmagic.NewACMEIssuer(m.cfg, tmpl)
	m.cfg.Issuers = []certmagic.Issuer{m.issuer}
	return m, nil
}

// TLSConfig serves the managed certificates and answers TLS-ALPN-01
// challenges (its NextProtos hold acme-tls/1); callers add their own
// protocols and settings.
func (m *Manager) TLSConfig() *tls.Config { return m.cfg.TLSConfig() }

// HTTPHandler answers HTTP-01 challenges and passes every other request
// to next.
func (m *Manager) HTTPHandler(next http.Handler) http.Handler {
	return m.issuer.HTTPChallengeHandler(next)
}

// Start gets (or loads from storage) the certificates in the background
// and keeps renewing them; the listeners must be up, since the CA
// validates through them. httpPort and tlsPort are the ports of the
// edge's plain and HTTPS listeners (0 when one is off): certmagic then
// answers through them instead of opening listeners of its own.
func (m *Manager) Start(ctx context.Context, httpPort, tlsPort int) error {
	m.issuer.AltHTTPPort, m.issuer.AltTLSALPNPort = httpPort, tlsPort
	if httpPort == 0 {
		m.issuer.DisableHTTPChallenge = true
	}
	if tlsPort == 0 {
		m.issuer.DisableTLSALPNChallenge = true
	}
	if m.issuer.DisableHTTPChallenge && m.issuer.DisableTLSALPNChallenge {
		return errors.New("acme: no challenge can be answered (no plain listener for http-01, no HTTPS listener for tls-alpn-01)")
	}
	return m.cfg.ManageAsync(ctx, m.domains)
}

// Stop ends the renewals.
func (m *Manager) Stop() { m.cache.Stop() }

// NotAfter is when the certificate held for the first domain expires
// (zero while there is none).
func (m *Manager) NotAfter() time.Time {
	var latest time.Time
	for _, c := range m.cache.AllMatchingCertificates(m.domains[0]) {
		if c.Leaf != nil && c.Leaf.NotAfter.After(latest) {
			latest = c.Leaf.NotAfter
		}
	}
	return latest
}
