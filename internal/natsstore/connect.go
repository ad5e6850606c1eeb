package natsstore

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ConnConfig connects to external NATS servers.
type ConnConfig struct {
	// URLs are the servers, e.g. nats://n1:4222,nats://n2:4222.
	URLs []string
	// Name names the connection in the servers' monitoring.
	Name string
	// CredsFile is a NATS credentials file (JWT and NKey seed).
	CredsFile string
	// NKeySeedFile is an NKey seed file.
	NKeySeedFile string
	// User and Password, or Token, authenticate without a creds file.
	User, Password, Token string
	// CAFile verifies the servers' certificates; CertFile and KeyFile are
	// the client certificate for mutual TLS.
	CAFile, CertFile, KeyFile string
	// Log receives connection events; none when nil.
	Log *slog.Logger
	// RetryFirst returns a connection at once even when no server is
	// reachable; it keeps trying in the background (an edge starting from
	// its snapshot while NATS is away).
	RetryFirst bool
}

// Connect opens a connection to external NATS. It retries for ever after a
// loss (the caller keeps serving from memory meanwhile), but the first
// connection must succeed.
func Connect(cfg ConnConfig) (*nats.Conn, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("nats: no server URL")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.Timeout(5 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			log.Warn("nats disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		// Asynchronous errors (a consumer not active while the servers
		// are away, a slow consumer) go to the log, not to standard error
		// as nats.go's default handler prints them.
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Warn("nats: asynchronous error", "subject", subject, "err", err)
		}),
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.NKeySeedFile != "" {
		o, err := nats.NkeyOptionFromSeed(cfg.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats: nkey seed file: %w", err)
		}
		opts = append(opts, o)
	}
	if cfg.User != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.CAFile != "" {
		opts = append(opts, nats.RootCAs(cfg.CAFile))
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		if cfg.CertFile == "" || cfg.KeyFile == "" {
			return nil, errors.New("nats: a client certificate needs both a cert file and a key file")
		}
		opts = append(opts, nats.ClientCert(cfg.CertFile, cfg.KeyFile))
	}
	if cfg.RetryFirst {
		opts = append(opts, nats.RetryOnFailedConnect(true))
	}
	nc, err := nats.Connect(strings.Join(cfg.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect to %s: %w", redact(cfg.URLs), err)
	}
	return nc, nil
}

// redact drops user info from URLs for messages.
func redact(urls []string) string {
	out := make([]string, len(urls))
	for i, u := range urls {
		if at := strings.LastIndex(u, "@"); at >= 0 {
			scheme := ""
			if i := strings.Index(u, "://"); i >= 0 && i < at {
				scheme = u[:i+3]
			}
			u = scheme + "***@" + u[at+1:]
		}
		out[i] = u
	}
	return strings.Join(out, ",")
}
