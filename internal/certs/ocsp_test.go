package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/certs/certstest"
	"golang.org/x/crypto/ocsp"
)

// handshakeStaple connects to a TLS listener serving r's certificate,
// verifying it against the CA, and returns the OCSP answer stapled.
func handshakeStaple(t *testing.T, ca *certstest.CA, r *Reloader) []byte {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: r.GetCertificate})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().OCSPResponse
}

// TestOCSPStapling: what is stapled for each answer of a real OCSP
// responder, and when nothing is asked.
func TestOCSPStapling(t *testing.T) {
	ca := certstest.NewCA(t)
	goodDelegate, goodKey := ca.Delegated([]x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning})
	plainDelegate, plainKey := ca.Delegated([]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})
	stranger := certstest.NewKey(t)
	for _, tc := range []struct {
		name                 string
		answer               func(*ocsp.Request) (int, []byte)
		noResponder, noChain bool
		wantStaple           bool
		result               string // counted by OCSPFetches; "" when nothing is asked
	}{
		{name: "good", answer: ca.Respond(ocsp.Good, time.Hour, nil, nil), wantStaple: true, result: OCSPGood},
		{name: "good from a delegated responder", answer: ca.Respond(ocsp.Good, time.Hour, goodDelegate, goodKey), wantStaple: true, result: OCSPGood},
		{name: "revoked", answer: ca.Respond(ocsp.Revoked, time.Hour, nil, nil), result: OCSPRevoked},
		{name: "unknown", answer: ca.Respond(ocsp.Unknown, time.Hour, nil, nil), result: OCSPUnknown},
		{name: "responder error", answer: func(*ocsp.Request) (int, []byte) { return 503, nil }, result: OCSPError},
		{name: "not an OCSP answer", answer: func(*ocsp.Request) (int, []byte) { return 200, []byte("<html>") }, result: OCSPError},
		{name: "signed by a stranger", answer: ca.Respond(ocsp.Good, time.Hour, nil, stranger), result: OCSPError},
		{name: "delegate not made for OCSP", answer: ca.Respond(ocsp.Good, time.Hour, plainDelegate, plainKey), result: OCSPError},
		{name: "answer already expired", answer: ca.Respond(ocsp.Good, -time.Minute, nil, nil), result: OCSPError},
		{name: "no responder named", noResponder: true},
		{name: "no issuer in the file", noChain: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca.SetAnswer(tc.answer)
			hits := ca.Hits()
			cf, kf := ca.WriteLeaf(10, tc.noResponder, tc.noChain)
			r, err := New(cf, kf)
			if err != nil {
				t.Fatal(err)
			}
			r.StapleOCSP(ca.Client())
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan struct{})
			go func() { r.Run(ctx, 0, slog.New(slog.DiscardHandler)); close(done) }()
			defer func() { cancel(); <-done }()
			if tc.result != "" {
				deadline := time.Now().Add(10 * time.Second)
				for r.OCSPFetches(tc.result) == 0 {
					if time.Now().After(deadline) {
						t.Fatalf("no %s answer counted", tc.result)
					}
					time.Sleep(5 * time.Millisecond)
				}
			} else {
				time.Sleep(50 * time.Millisecond)
				if n := ca.Hits() - hits; n != 0 {
					t.Fatalf("the responder was asked %d times", n)
				}
			}
			staple := handshakeStaple(t, ca, r)
			if !tc.wantStaple {
				if staple != nil || !r.StapleNextUpdate().IsZero() {
					t.Fatalf("stapled %d bytes (next update %v)", len(staple), r.StapleNextUpdate())
				}
				return
			}
			leaf := r.cur.Load().Leaf
			resp, err := ocsp.ParseResponseForCert(staple, leaf, ca.Cert)
			if err != nil || resp.Status != ocsp.Good {
				t.Fatalf("staple in the handshake: %v", err)
			}
			if !r.StapleNextUpdate().Equal(resp.NextUpdate) {
				t.Fatalf("StapleNextUpdate %v, answer's %v", r.StapleNextUpdate(), resp.NextUpdate)
			}
		})
	}
}

// TestOCSPRefresh: the answer is asked for again halfway through its
// validity; failures are retried; a staple past its next update is
// dropped; a new certificate is stapled with its own answer.
func TestOCSPRefresh(t *testing.T) {
	defer func(a, b time.Duration) { ocspMinRefresh, ocspRetryMin = a, b }(ocspMinRefresh, ocspRetryMin)
	ocspMinRefresh, ocspRetryMin = 10*time.Millisecond, 10*time.Millisecond
	ca := certstest.NewCA(t)
	ca.SetAnswer(ca.Respond(ocsp.Good, 2*time.Second, nil, nil))
	cf, kf := ca.WriteLeaf(20, false, false)
	r, err := New(cf, kf)
	if err != nil {
		t.Fatal(err)
	}
	r.StapleOCSP(ca.Client())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, 0, slog.New(slog.DiscardHandler)); close(done) }()
	defer func() { cancel(); <-done }() // before the delays are restored
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("waited 15s for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait("a first staple", func() bool { return r.cur.Load().OCSPStaple != nil })
	first := r.StapleNextUpdate()
	// A 2 s answer, 1 s old at most: asked again within about a second.
	wait("a second good answer", func() bool { return r.OCSPFetches(OCSPGood) >= 2 })
	if n := r.OCSPFetches(OCSPGood); n > 3 {
		t.Fatalf("%d answers asked for in about a second: not waiting for half the validity", n)
	}
	wait("the staple to move on", func() bool { return r.StapleNextUpdate().After(first) })

	// The responder fails from now on: the staple held stays until its
	// next update, then it is dropped.
	ca.SetAnswer(func(*ocsp.Request) (int, []byte) { return 500, nil })
	wait("a failure", func() bool { return r.OCSPFetches(OCSPError) >= 1 })
	if r.cur.Load().OCSPStaple == nil && time.Now().Before(r.StapleNextUpdate()) {
		t.Fatal("the staple was dropped before its next update")
	}
	wait("the expired staple to be dropped", func() bool { return r.cur.Load().OCSPStaple == nil })
	if !r.StapleNextUpdate().IsZero() {
		t.Fatal("StapleNextUpdate set without a staple")
	}
	if staple := handshakeStaple(t, ca, r); staple != nil {
		t.Fatal("an expired staple in the handshake")
	}

	// The responder is back; a new certificate (SIGHUP) gets its own answer.
	ca.SetAnswer(ca.Respond(ocsp.Good, time.Hour, nil, nil))
	cf2, kf2 := ca.WriteLeaf(21, false, false)
	for _, p := range [][2]string{{cf2, cf}, {kf2, kf}} {
		b, _ := os.ReadFile(p[0])
		os.WriteFile(p[1], b, 0o600)
	}
	r.Reread()
	wait("the new certificate stapled", func() bool {
		c := r.cur.Load()
		return c.Leaf.SerialNumber.Int64() == 21 && c.OCSPStaple != nil
	})
	resp, err := ocsp.ParseResponseForCert(handshakeStaple(t, ca, r), r.cur.Load().Leaf, ca.Cert)
	if err != nil || resp.SerialNumber.Int64() != 21 {
		t.Fatalf("staple of the new certificate: %v", err)
	}
}
