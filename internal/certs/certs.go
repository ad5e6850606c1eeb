// Package certs holds the edge's TLS certificate and replaces it when its
// files change or on request (SIGHUP), without closing a connection: each
// new handshake takes the certificate held at that moment, and
// connections already open keep theirs.
//
// It staples OCSP answers to the certificate where the certificate names
// a responder (ocsp.go).
//
// It imports the standard library and golang.org/x/crypto/ocsp only: the
// edge's assembly (internal/node) uses it, and nothing of the control
// plane.
package certs

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// Reloader serves the certificate of a pair of PEM files and reloads it.
type Reloader struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
	// stamp is the files' sizes and modification times at the last load;
	// only Run reads and writes it after New.
	stamp [2]fileStamp
	kick  chan struct{}
	// loads counts the certificates loaded (the first included).
	loads atomic.Uint64
	// ocsp staples OCSP answers; nil when off (StapleOCSP).
	ocsp *stapler
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// New loads the certificate (the file may hold the chain) and its key. An
// error here should stop the edge at start.
func New(certFile, keyFile string) (*Reloader, error) {
	r := &Reloader{certFile: certFile, keyFile: keyFile, kick: make(chan struct{}, 1)}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate is tls.Config.GetCertificate: the certificate held now.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load(), nil
}

// Loads returns how many certificates were loaded (the first included).
func (r *Reloader) Loads() uint64 { return r.loads.Load() }

// NotAfter is the held certificate's expiry.
func (r *Reloader) NotAfter() time.Time {
	if c := r.cur.Load(); c != nil && c.Leaf != nil {
		return c.Leaf.NotAfter
	}
	return time.Time{}
}

// Reread has Run load the files at once, changed or not (SIGHUP). It does
// not wait.
func (r *Reloader) Reread() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run checks the files every interval (never when 0) and loads them when
// one changed, or at once on Reread, until ctx ends. A pair that does not load (a
// certificate written before its key, a bad file) keeps the certificate
// held, and is tried again at the next check.
func (r *Reloader) Run(ctx context.Context, interval time.Duration, log *slog.Logger) error {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	ocspTimer := time.NewTimer(time.Hour)
	defer ocspTimer.Stop()
	r.restartOCSP()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			r.check(log, false)
		case <-r.kick:
			r.check(log, true)
		case <-r.ocspTimer(ocspTimer):
			r.refreshOCSP(ctx, log)
		}
	}
}

func (r *Reloader) check(log *slog.Logger, force bool) {
	st, err := stamps(r.certFile, r.keyFile)
	if err != nil {
		log.Error("TLS certificate files unreadable; keeping the current certificate", "err", err)
		return
	}
	if !force && st == r.stamp {
		return
	}
	if err := r.load(); err != nil {
		log.Error("TLS certificate not reloaded; keeping the current one", "err", err)
		return
	}
	log.Info("TLS certificate reloaded", "cert_file", r.certFile, "not_after", r.NotAfter())
	r.restartOCSP()
}

// load reads the pair and swaps it in.
func (r *Reloader) load() error {
	st, err := stamps(r.certFile, r.keyFile)
	if err != nil {
		return err
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	if c.Leaf == nil {
		return errors.New("tls: the certificate file holds no certificate")
	}
	r.cur.Store(&c)
	r.stamp = st
	r.loads.Add(1)
	return nil
}

func stamps(files ...string) (st [2]fileStamp, err error) {
	for i, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return st, fmt.Errorf("tls: %w", err)
		}
		st[i] = fileStamp{fi.Size(), fi.ModTime()}
	}
	return st, nil
}
