package certs

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSP stapling of a certificate from files: when the certificate names an
// OCSP responder (its Authority Information Access) and the file holds its
// issuer (the chain), the Reloader asks the responder for the
// certificate's status, checks the answer's signature against the issuer,
// and staples a "good" answer to every handshake. It asks again halfway
// through the answer's validity, retries failures with a growing delay,
// and drops a staple once its next-update time has passed (an expired
// staple fails the handshake of clients that check it; none does not).
// A "revoked" or "unknown" answer is never stapled and is logged as an
// error.

// OCSP limits.
const (
	// ocspTimeout bounds one request to the responder.
	ocspTimeout = 10 * time.Second
	// ocspMaxResponse bounds the answer read (real ones are 1-4 KB).
	ocspMaxResponse = 64 << 10
	// ocspRetryMax bounds the delay after failures.
	ocspRetryMax = time.Hour
	// ocspNoNextUpdate is when to ask again after an answer without a
	// next-update time.
	ocspNoNextUpdate = time.Hour
)

// OCSP delays; variables so that tests can shorten them.
var (
	// ocspRetryMin is the delay after a first failure; it doubles with
	// each failure after it.
	ocspRetryMin = time.Minute
	// ocspMinRefresh is the shortest delay before asking again.
	ocspMinRefresh = time.Minute
)

// OCSP fetch results counted by OCSPFetches.
const (
	OCSPGood    = "good"
	OCSPRevoked = "revoked"
	OCSPUnknown = "unknown"
	OCSPError   = "error"
)

// OCSPResults are the results OCSPFetches counts, in a fixed order: the
// order of the fetch* indices.
var OCSPResults = []string{OCSPGood, OCSPRevoked, OCSPUnknown, OCSPError}

// Indices of stapler.fetches, as in OCSPResults.
const (
	fetchGood = iota
	fetchRevoked
	fetchUnknown
	fetchError
)

// stapler is the OCSP state of a Reloader; only Run's goroutine changes it
// (the counters excepted).
type stapler struct {
	client *http.Client
	// next is when to ask the responder again; zero: not scheduled (the
	// certificate offers no stapling).
	next time.Time
	// failures in a row, for the retry delay.
	failures int
	// fetches counts answers by result (OCSPResults' order).
	fetches [4]atomic.Uint64
	// nextUpdate of the staple held, Unix seconds; 0 when none.
	nextUpdate atomic.Int64
}

// StapleOCSP turns OCSP stapling on, with client for the responder
// (nil: a client of its own). Call it before Run.
func (r *Reloader) StapleOCSP(client *http.Client) {
	if client == nil {
		client = &http.Client{Timeout: ocspTimeout}
	}
	r.ocsp = &stapler{client: client}
}

// OCSPFetches returns how many responder answers had the result (one of
// OCSPResults).
func (r *Reloader) OCSPFetches(result string) uint64 {
	if r.ocsp == nil {
		return 0
	}
	for i, res := range OCSPResults {
		if res == result {
			return r.ocsp.fetches[i].Load()
		}
	}
	return 0
}

// StapleNextUpdate is the next-update time of the OCSP answer stapled now;
// zero when none is.
func (r *Reloader) StapleNextUpdate() time.Time {
	if r.ocsp == nil {
		return time.Time{}
	}
	if s := r.ocsp.nextUpdate.Load(); s != 0 {
		return time.Unix(s, 0)
	}
	return time.Time{}
}

// ocspTimer returns the channel of the next OCSP refresh (nil: none).
func (r *Reloader) ocspTimer(t *time.Timer) <-chan time.Time {
	if r.ocsp == nil || r.ocsp.next.IsZero() {
		t.Stop()
		return nil
	}
	t.Reset(max(0, time.Until(r.ocsp.next)))
	return t.C
}

// restartOCSP schedules an OCSP request at once for a certificate just
// loaded.
func (r *Reloader) restartOCSP() {
	if r.ocsp != nil {
		r.ocsp.next, r.ocsp.failures = time.Now(), 0
		r.ocsp.nextUpdate.Store(0)
	}
}

// refreshOCSP asks the responder for the status of the certificate held,
// staples a good answer, and schedules the next request.
func (r *Reloader) refreshOCSP(ctx context.Context, log *slog.Logger) {
	st := r.ocsp
	c := r.cur.Load()
	leaf := c.Leaf
	if len(leaf.OCSPServer) == 0 {
		st.next = time.Time{}
		log.Info("TLS certificate names no OCSP responder; nothing to staple", "cert_file", r.certFile)
		return
	}
	if len(c.Certificate) < 2 {
		st.next = time.Time{}
		log.Warn("OCSP not stapled: the certificate file holds no issuer certificate; add the chain after the certificate", "cert_file", r.certFile)
		return
	}
	issuer, err := x509.ParseCertificate(c.Certificate[1])
	if err == nil {
		err = leaf.CheckSignatureFrom(issuer)
	}
	if err != nil {
		st.next = time.Time{}
		log.Warn("OCSP not stapled: the second certificate of the file is not the issuer", "cert_file", r.certFile, "err", err)
		return
	}
	now := time.Now()
	raw, resp, err := fetchOCSP(ctx, st.client, leaf, issuer)
	if err == nil && (resp.ThisUpdate.After(now.Add(5*time.Minute)) || (!resp.NextUpdate.IsZero() && !resp.NextUpdate.After(now))) {
		err = fmt.Errorf("answer valid from %s to %s, not now", resp.ThisUpdate.Format(time.RFC3339), resp.NextUpdate.Format(time.RFC3339))
	}
	if err != nil {
		st.fetches[fetchError].Add(1)
		st.failures++
		delay := min(ocspRetryMax, ocspRetryMin<<min(st.failures-1, 6))
		st.next = now.Add(delay)
		// A staple past its next update is dropped.
		if nu := st.nextUpdate.Load(); nu != 0 && !time.Unix(nu, 0).After(now) {
			r.staple(c, nil, time.Time{})
		}
		log.Error("OCSP request failed; the staple held (if any) stays until its next update", "responder", leaf.OCSPServer[0], "err", err, "retry_in", delay)
		return
	}
	st.failures = 0
	switch resp.Status {
	case ocsp.Good:
		st.fetches[fetchGood].Add(1)
		r.staple(c, raw, resp.NextUpdate)
		log.Debug("OCSP answer stapled", "next_update", resp.NextUpdate)
	case ocsp.Revoked:
		st.fetches[fetchRevoked].Add(1)
		r.staple(c, nil, time.Time{})
		log.Error("the TLS certificate is REVOKED according to its OCSP responder; replace it", "cert_file", r.certFile, "revoked_at", resp.RevokedAt, "reason", resp.RevocationReason)
	default:
		st.fetches[fetchUnknown].Add(1)
		r.staple(c, nil, time.Time{})
		log.Error("the OCSP responder does not know the TLS certificate; nothing stapled", "cert_file", r.certFile)
	}
	refresh := ocspNoNextUpdate
	if !resp.NextUpdate.IsZero() {
		refresh = resp.NextUpdate.Sub(resp.ThisUpdate) / 2
		if at := resp.ThisUpdate.Add(refresh); at.After(now) {
			refresh = at.Sub(now)
		} else {
			refresh = 0
		}
	}
	st.next = now.Add(max(ocspMinRefresh, refresh))
}

// staple swaps in the certificate c with the answer raw stapled (nil:
// none), unless another certificate was loaded meanwhile.
func (r *Reloader) staple(c *tls.Certificate, raw []byte, nextUpdate time.Time) {
	cp := *c
	cp.OCSPStaple = raw
	if r.cur.CompareAndSwap(c, &cp) {
		nu := int64(0)
		if raw != nil {
			nu = nextUpdate.Unix()
			if nextUpdate.IsZero() {
				nu = time.Now().Add(ocspNoNextUpdate).Unix()
			}
		}
		r.ocsp.nextUpdate.Store(nu)
	}
}

// fetchOCSP asks the certificate's first responder over HTTP POST (RFC
// 6960 Appendix A) and returns the answer, its signature checked against
// the issuer.
func fetchOCSP(ctx context.Context, client *http.Client, leaf, issuer *x509.Certificate) ([]byte, *ocsp.Response, error) {
	u, err := url.Parse(leaf.OCSPServer[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fmt.Errorf("responder %q is not an http(s) URL", leaf.OCSPServer[0])
	}
	body, err := ocsp.CreateRequest(leaf, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, ocspTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	req.Header.Set("Accept", "application/ocsp-response")
	res, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("responder answered %s", res.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, ocspMaxResponse+1))
	if err != nil {
		return nil, nil, err
	}
	if len(raw) > ocspMaxResponse {
		return nil, nil, errors.New("answer larger than 64 KiB")
	}
	resp, err := ocsp.ParseResponseForCert(raw, leaf, issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("answer: %w", err)
	}
	// x/crypto/ocsp checks that the issuer signed a delegated responder's
	// certificate, not that it may sign OCSP answers (RFC 6960 4.2.2.2)
	// nor that it is valid now.
	if d := resp.Certificate; d != nil && !bytes.Equal(d.Raw, issuer.Raw) {
		if !slices.Contains(d.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
			return nil, nil, errors.New("answer signed by a certificate not made for OCSP signing")
		}
		if now := time.Now(); now.Before(d.NotBefore) || now.After(d.NotAfter) {
			return nil, nil, errors.New("answer signed by a responder certificate not valid now")
		}
	}
	return raw, resp, nil
}
