package certstest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// CA is a test certificate authority with a real OCSP responder for its
// certificates (over HTTP on 127.0.0.1, answering as the test says), and
// writes certificate files it signed.
type CA struct {
	t    *testing.T
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
	srv  *httptest.Server
	hits atomic.Int64

	mu sync.Mutex
	// answer makes the responder's answer for a request.
	answer func(req *ocsp.Request) (status int, body []byte)
}

// NewKey makes a P-256 key.
func NewKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// NewCA starts a CA and its responder (answering "good" for an hour
// until SetAnswer), stopped at the test's end.
func NewCA(t *testing.T) *CA {
	ca := &CA{t: t, key: NewKey(t)}
	ca.Cert = ca.sign(&x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smd test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}, &ca.key.PublicKey, nil)
	ca.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ca.hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(b)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/ocsp-request" || err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		ca.mu.Lock()
		answer := ca.answer
		ca.mu.Unlock()
		status, body := answer(req)
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(ca.srv.Close)
	ca.SetAnswer(ca.Respond(ocsp.Good, time.Hour, nil, nil))
	return ca
}

// sign makes a certificate from tmpl signed by the CA (self-signed when
// parent is nil and the CA's own certificate is being made).
func (ca *CA) sign(tmpl *x509.Certificate, pub crypto.PublicKey, parent *x509.Certificate) *x509.Certificate {
	ca.t.Helper()
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		ca.t.Fatal(err)
	}
	return c
}

// SetAnswer sets how the responder answers.
func (ca *CA) SetAnswer(f func(req *ocsp.Request) (int, []byte)) {
	ca.mu.Lock()
	ca.answer = f
	ca.mu.Unlock()
}

// Respond answers status, valid for validity, signed by the CA or by the
// delegated responder (cert, key).
func (ca *CA) Respond(status int, validity time.Duration, cert *x509.Certificate, key crypto.Signer) func(*ocsp.Request) (int, []byte) {
	return func(req *ocsp.Request) (int, []byte) {
		tmpl := ocsp.Response{Status: status, SerialNumber: req.SerialNumber, ThisUpdate: time.Now().Add(-time.Second).Truncate(time.Second),
			NextUpdate: time.Now().Add(validity).Truncate(time.Second), RevokedAt: time.Now().Add(-time.Hour), Certificate: cert}
		signer := crypto.Signer(ca.key)
		if key != nil {
			signer = key
		}
		b, err := ocsp.CreateResponse(ca.Cert, ca.Cert, tmpl, signer)
		if cert != nil {
			b, err = ocsp.CreateResponse(ca.Cert, cert, tmpl, signer)
		}
		if err != nil {
			ca.t.Error(err)
			return 500, nil
		}
		return 200, b
	}
}

// Delegated makes a responder certificate signed by the CA.
func (ca *CA) Delegated(eku []x509.ExtKeyUsage) (*x509.Certificate, crypto.Signer) {
	k := NewKey(ca.t)
	return ca.sign(&x509.Certificate{
		SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "smd test OCSP responder"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: eku,
	}, &k.PublicKey, ca.Cert), k
}

// WriteLeaf writes a certificate for 127.0.0.1 naming the responder
// (unless noResponder), with the CA's certificate after it (unless
// noChain), and its key; it returns the two files.
func (ca *CA) WriteLeaf(serial int64, noResponder, noChain bool) (string, string) {
	ca.t.Helper()
	k := NewKey(ca.t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "smd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if !noResponder {
		tmpl.OCSPServer = []string{ca.srv.URL + "/ocsp"}
	}
	leaf := ca.sign(tmpl, &k.PublicKey, ca.Cert)
	var chain bytes.Buffer
	pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw})
	if !noChain {
		pem.Encode(&chain, &pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		ca.t.Fatal(err)
	}
	dir := ca.t.TempDir()
	cf, kf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cf, chain.Bytes(), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	if err := os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return cf, kf
}

// Hits is how many requests the responder has had.
func (ca *CA) Hits() int64 { return ca.hits.Load() }

// Client is an HTTP client for the responder.
func (ca *CA) Client() *http.Client { return ca.srv.Client() }
