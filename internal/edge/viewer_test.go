package edge

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/smd-media/smd/token"
)

type locatorFunc func(netip.Addr) token.Geo

func (f locatorFunc) Locate(a netip.Addr) token.Geo { return f(a) }

func TestIdentify(t *testing.T) {
	trusted, err := parsePrefixes([]string{"10.0.0.0/8", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		remote     string
		header     http.Header
		geoHeaders bool
		wantIP     string
		wantGeo    token.Geo
	}{
		{name: "socket peer", remote: "198.51.100.10:5000", wantIP: "198.51.100.10"},
		{name: "ipv6 socket peer", remote: "[2001:db8::5]:443", wantIP: "2001:db8::5"},
		{name: "untrusted peer's X-Forwarded-For ignored", remote: "198.51.100.10:1", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, wantIP: "198.51.100.10"},
		{name: "trusted proxy", remote: "10.1.2.3:1", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, wantIP: "203.0.113.9"},
		{name: "spoofed left entry skipped", remote: "10.1.2.3:1", header: http.Header{"X-Forwarded-For": {"6.6.6.6, 203.0.113.9, 10.9.9.9"}}, wantIP: "203.0.113.9"},
		{name: "chain over two headers", remote: "192.0.2.1:1", header: http.Header{"X-Forwarded-For": {"6.6.6.6", "203.0.113.9"}}, wantIP: "203.0.113.9"},
		{name: "garbage stops the walk", remote: "10.1.2.3:1", header: http.Header{"X-Forwarded-For": {"203.0.113.9, junk, 10.2.2.2"}}, wantIP: "10.2.2.2"},
		{name: "all trusted", remote: "10.1.2.3:1", header: http.Header{"X-Forwarded-For": {"10.4.4.4"}}, wantIP: "10.4.4.4"},
		{name: "Forwarded", remote: "10.1.2.3:1", header: http.Header{"Forwarded": {`for="[2001:db8::7]:4711";proto=https, for=10.3.3.3`}}, wantIP: "2001:db8::7"},
		{name: "geo headers from trusted proxy", remote: "10.1.2.3:1", geoHeaders: true,
			header: http.Header{"X-Forwarded-For": {"203.0.113.9"}, "Cloudfront-Viewer-Country": {"FR"}, "Cloudfront-Viewer-Country-Region": {"IDF"}, "Cloudfront-Viewer-City": {"Paris"}},
			wantIP: "203.0.113.9", wantGeo: token.Geo{Country: "FR", Region: "IDF", City: "Paris"}},
		{name: "geo headers from viewer ignored", remote: "198.51.100.10:1", geoHeaders: true,
			header: http.Header{"Cloudfront-Viewer-Country": {"FR"}}, wantIP: "198.51.100.10"},
		{name: "cloudflare country", remote: "10.1.2.3:1", geoHeaders: true, header: http.Header{"Cf-Ipcountry": {"DE"}}, wantIP: "10.1.2.3", wantGeo: token.Geo{Country: "DE"}},
		{name: "cloudflare unknown", remote: "10.1.2.3:1", geoHeaders: true, header: http.Header{"Cf-Ipcountry": {"XX"}}, wantIP: "10.1.2.3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := viewers{trusted: trusted, geoHeaders: tc.geoHeaders}
			r := &http.Request{RemoteAddr: tc.remote, Header: tc.header}
			if r.Header == nil {
				r.Header = http.Header{}
			}
			ip, g := v.identify(r)
			if ip.String() != tc.wantIP || g != tc.wantGeo {
				t.Fatalf("got %s %+v, want %s %+v", ip, g, tc.wantIP, tc.wantGeo)
			}
		})
	}
}

func TestIdentifyWithDatabase(t *testing.T) {
	v := viewers{locator: locatorFunc(func(a netip.Addr) token.Geo {
		if a == netip.MustParseAddr("198.51.100.10") {
			return token.Geo{Country: "FR"}
		}
		return token.Geo{}
	})}
	_, g := v.identify(&http.Request{RemoteAddr: "198.51.100.10:1", Header: http.Header{}})
	if g.Country != "FR" {
		t.Fatalf("geo %+v", g)
	}
}

// asnFunc is an ASN locator.
type asnFunc func(netip.Addr) uint32

func (f asnFunc) ASN(a netip.Addr) uint32 { return f(a) }

// TestASN: the viewer's network operator comes from a trusted
// CloudFront-Viewer-ASN header with geo source headers (never from an
// untrusted peer's, nor a malformed one), else from the ASN database.
func TestASN(t *testing.T) {
	trusted, _ := parsePrefixes([]string{"10.0.0.0/8"})
	db := asnFunc(func(a netip.Addr) uint32 {
		if a == netip.MustParseAddr("198.51.100.10") {
			return 64500
		}
		return 0
	})
	for _, tc := range []struct {
		name       string
		remote     string
		header     string
		geoHeaders bool
		db         bool
		want       uint32
	}{
		{"trusted header", "10.0.0.1:1", "64501", true, false, 64501},
		{"trusted header wins over the database", "10.0.0.1:1", "64501", true, true, 64501},
		{"untrusted header", "198.51.100.10:1", "64501", true, false, 0},
		{"untrusted header, the database", "198.51.100.10:1", "64501", true, true, 64500},
		{"malformed header", "10.0.0.1:1", "AS64501", true, false, 0},
		{"header ignored without geo headers", "10.0.0.1:1", "64501", false, false, 0},
		{"database", "198.51.100.10:1", "", false, true, 64500},
		{"nothing known", "192.0.2.1:1", "", false, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := viewers{trusted: trusted, geoHeaders: tc.geoHeaders}
			if tc.db {
				v.asns = db
			}
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			if tc.header != "" {
				r.Header.Set("CloudFront-Viewer-ASN", tc.header)
			}
			ip, _ := v.identify(r)
			if got := v.asn(r, ip); got != tc.want {
				t.Errorf("AS%d, want AS%d", got, tc.want)
			}
		})
	}
}
