package acme

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/acme/pebbletest"
)

// served is the serial and issuer of the certificate the HTTPS listener
// shows for name, or "" while it has none.
func served(addr, name string) (serial, issuer string) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: true})
	if err != nil {
		return "", ""
	}
	defer c.Close()
	cert := c.ConnectionState().PeerCertificates[0]
	return cert.SerialNumber.String(), cert.Issuer.CommonName
}

func waitCert(t *testing.T, addr, name, not string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		serial, issuer := served(addr, name)
		if serial != "" && serial != not {
			if !strings.Contains(issuer, "Pebble") {
				t.Fatalf("served a certificate issued by %q", issuer)
			}
			return serial
		}
		if time.Now().After(deadline) {
			t.Fatalf("no certificate from the CA for %s after %v", name, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func newManager(t *testing.T, ca *pebbletest.CA, challenges []string, renewEvery time.Duration) *Manager {
	t.Helper()
	m, err := New(Config{
		Domains: []string{"cdn.smd.test"}, Email: "ops@smd.test", CA: ca.Directory, CARootFile: ca.RootFile,
		Challenges: challenges, StorageDir: t.TempDir(), RenewCheckInterval: renewEvery, Log: testLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return m
}

func testLog() *slog.Logger {
	if os.Getenv("SMD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// listeners are the plain and HTTPS listeners the CA validates through,
// on ports chosen first (pebble must know them before it starts).
type listeners struct {
	httpPort, tlsPort int
	tlsAddr           string
}

func freePorts(t *testing.T) (httpPort, tlsPort int) {
	t.Helper()
	var ports [2]int
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	return ports[0], ports[1]
}

// serve runs the plain listener with the HTTP-01 handler and the HTTPS
// listener with the manager's TLS configuration until the test ends.
func serve(t *testing.T, m *Manager, httpPort, tlsPort int) string {
	t.Helper()
	hl, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(httpPort))
	if err != nil {
		t.Fatal(err)
	}
	tl, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(tlsPort))
	if err != nil {
		t.Fatal(err)
	}
	quiet := log.New(io.Discard, "", 0)
	hs := &http.Server{Handler: m.HTTPHandler(http.NotFoundHandler()), ReadHeaderTimeout: 5 * time.Second, ErrorLog: quiet}
	ts := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: 5 * time.Second, ErrorLog: quiet}
	go hs.Serve(hl)
	go ts.Serve(tls.NewListener(tl, m.TLSConfig()))
	t.Cleanup(func() { hs.Close(); ts.Close() })
	return tl.Addr().String()
}

// TestChallenges: a certificate from a real ACME server (pebble), through
// each challenge alone.
func TestChallenges(t *testing.T) {
	for _, ch := range []string{HTTP01, TLSALPN01} {
		t.Run(ch, func(t *testing.T) {
			hp, tp := freePorts(t)
			ca := pebbletest.Start(t, hp, tp, time.Hour)
			m := newManager(t, ca, []string{ch}, 0)
			addr := serve(t, m, hp, tp)
			if err := m.Start(context.Background(), hp, tp); err != nil {
				t.Fatal(err)
			}
			waitCert(t, addr, "cdn.smd.test", "", 60*time.Second)
		})
	}
}

// TestRenewal: a certificate valid for 30 s is renewed before it expires
// (certmagic renews in the last third of its life), through the same
// listeners.
func TestRenewal(t *testing.T) {
	hp, tp := freePorts(t)
	ca := pebbletest.Start(t, hp, tp, 30*time.Second)
	m := newManager(t, ca, nil, 500*time.Millisecond)
	addr := serve(t, m, hp, tp)
	if err := m.Start(context.Background(), hp, tp); err != nil {
		t.Fatal(err)
	}
	first := waitCert(t, addr, "cdn.smd.test", "", 60*time.Second)
	t0 := time.Now()
	second := waitCert(t, addr, "cdn.smd.test", first, 60*time.Second)
	t.Logf("renewed after %v: serial %s then %s", time.Since(t0).Round(time.Second), first, second)
}

// TestNewErrors: a configuration that cannot work is refused.
func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"no domains", Config{StorageDir: "x"}, "no domains"},
		{"no storage", Config{Domains: []string{"a.example"}}, "storage"},
		{"bad challenge", Config{Domains: []string{"a.example"}, StorageDir: "x", Challenges: []string{"dns-01"}}, "dns-01"},
		{"missing root file", Config{Domains: []string{"a.example"}, StorageDir: "x", CARootFile: "/nonexistent"}, "ca_root_file"},
	} {
		if _, err := New(tc.c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
	m, err := New(Config{Domains: []string{"a.example"}, StorageDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	if err := m.Start(context.Background(), 0, 0); err == nil || !strings.Contains(err.Error(), "no challenge") {
		t.Errorf("Start without listeners: %v", err)
	}
}
