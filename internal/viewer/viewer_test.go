package viewer

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/smd-media/smd/token"
)

type locatorFunc func(netip.Addr) token.Geo

func (f locatorFunc) Locate(a netip.Addr) token.Geo { return f(a) }

// asnFunc is an ASN locator.
type asnFunc func(netip.Addr) uint32

func (f asnFunc) ASN(a netip.Addr) uint32 { return f(a) }

// TestIdentify: the socket's peer, or behind trusted proxies the
// rightmost untrusted address of X-Forwarded-For (else Forwarded); CDN
// geo headers from trusted proxies only; the database when no header says
// it. (The edge's and the API's cases, which were two copies.)
func TestIdentify(t *testing.T) {
	trusted, err := ParseTrusted([]string{"10.0.0.0/8", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	db := locatorFunc(func(a netip.Addr) token.Geo {
		if a == netip.MustParseAddr("198.51.100.10") || a == netip.MustParseAddr("203.0.113.9") {
			return token.Geo{Country: "SE"}
		}
		return token.Geo{}
	})
	tests := []struct {
		name       string
		remote     string
		header     http.Header
		geoHeaders bool
		db         bool
		wantIP     string
		wantGeo    token.Geo
	}{
		{name: "socket peer", remote: "198.51.100.10:5000", wantIP: "198.51.100.10"},
		{name: "ipv6 socket peer", remote: "[2001:db8::5]:443", wantIP: "2001:db8::5"},
		{name: "peer with a zone", remote: "[fe80::1%eth0]:443", wantIP: "fe80::1"},
		{name: "peer without a port", remote: "198.51.100.10", wantIP: "198.51.100.10"},
		{name: "no peer", remote: "", wantIP: "invalid IP"},
		{name: "untrusted peer's X-Forwarded-For ignored", remote: "198.51.100.10:1", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, wantIP: "198.51.100.10"},
		{name: "trusted proxy", remote: "10.1.2.3:1", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, wantIP: "203.0.113.9"},
		{name: "mapped trusted peer", remote: "[::ffff:10.1.2.3]:80", header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}, wantIP: "198.51.100.1"},
		{name: "mapped untrusted peer, unmapped", remote: "[::ffff:198.51.100.10]:80", wantIP: "198.51.100.10"},
		{name: "mapped forwarded address, unmapped", remote: "10.1.2.3:1", header: http.Header{"X-Forwarded-For": {"::ffff:203.0.113.9"}}, wantIP: "203.0.113.9"},
		{name: "forwarded address with a port", remote: "10.1.2.3:1", header: http.Header{"X-Forwarded-For": {"203.0.113.9:5555"}}, wantIP: "203.0.113.9"},
		{name: "spoofed left entry skipped", remote: "10.1.2.3:1", header: http.Header{"X-Forwarded-For": {"6.6.6.6, 203.0.113.9, 10.9.9.9"}}, wantIP: "203.0.113.9"},
		{name: "chain over two headers", remote: "192.0.2.1:1", header: http.Header{"X-Forwarded-For": {"6.6.6.6", "203.0.113.9"}}, wantIP: "203.0.113.9"},
		{name: "garbage stops the walk", remote: "10.1.2.3:1", header: http.Header{"X-Forwarded-For": {"203.0.113.9, junk, 10.2.2.2"}}, wantIP: "10.2.2.2"},
		{name: "all trusted", remote: "10.1.2.3:1", header: http.Header{"X-Forwarded-For": {"10.4.4.4"}}, wantIP: "10.4.4.4"},
		{name: "Forwarded", remote: "10.1.2.3:1", header: http.Header{"Forwarded": {`for="[2001:db8::7]:4711";proto=https, for=10.3.3.3`}}, wantIP: "2001:db8::7"},
		{name: "Forwarded, IPv4 with a port", remote: "10.1.2.3:1", header: http.Header{"Forwarded": {`for=203.0.113.9:80`}}, wantIP: "203.0.113.9"},
		{name: "Forwarded unknown stops the walk", remote: "10.1.2.3:1", header: http.Header{"Forwarded": {`for=203.0.113.9, for=unknown`}}, wantIP: "10.1.2.3"},
		{name: "X-Forwarded-For wins over Forwarded", remote: "10.1.2.3:1", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}, "Forwarded": {"for=6.6.6.6"}}, wantIP: "203.0.113.9"},
		{name: "untrusted peer's Forwarded ignored", remote: "198.51.100.10:1", header: http.Header{"Forwarded": {"for=6.6.6.6"}}, wantIP: "198.51.100.10"},
		{name: "geo headers from trusted proxy", remote: "10.1.2.3:1", geoHeaders: true,
			header: http.Header{"X-Forwarded-For": {"203.0.113.9"}, "Cloudfront-Viewer-Country": {"FR"}, "Cloudfront-Viewer-Country-Region": {"IDF"}, "Cloudfront-Viewer-City": {"Paris"}},
			wantIP: "203.0.113.9", wantGeo: token.Geo{Country: "FR", Region: "IDF", City: "Paris"}},
		{name: "geo headers from viewer ignored", remote: "198.51.100.10:1", geoHeaders: true,
			header: http.Header{"Cloudfront-Viewer-Country": {"FR"}}, wantIP: "198.51.100.10"},
		{name: "geo headers off", remote: "10.1.2.3:1", header: http.Header{"Cloudfront-Viewer-Country": {"FR"}}, wantIP: "10.1.2.3"},
		{name: "cloudflare country", remote: "10.1.2.3:1", geoHeaders: true, header: http.Header{"Cf-Ipcountry": {"DE"}}, wantIP: "10.1.2.3", wantGeo: token.Geo{Country: "DE"}},
		{name: "cloudflare unknown", remote: "10.1.2.3:1", geoHeaders: true, header: http.Header{"Cf-Ipcountry": {"XX"}}, wantIP: "10.1.2.3"},
		{name: "cloudflare Tor", remote: "10.1.2.3:1", geoHeaders: true, header: http.Header{"Cf-Ipcountry": {"T1"}}, wantIP: "10.1.2.3"},
		{name: "database", remote: "198.51.100.10:1", db: true, wantIP: "198.51.100.10", wantGeo: token.Geo{Country: "SE"}},
		{name: "trusted header wins over the database", remote: "10.1.2.3:1", geoHeaders: true, db: true,
			header: http.Header{"X-Forwarded-For": {"203.0.113.9"}, "Cloudfront-Viewer-Country": {"FR"}}, wantIP: "203.0.113.9", wantGeo: token.Geo{Country: "FR"}},
		{name: "no header: the database", remote: "10.1.2.3:1", geoHeaders: true, db: true,
			header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, wantIP: "203.0.113.9", wantGeo: token.Geo{Country: "SE"}},
		{name: "untrusted header: the database", remote: "198.51.100.10:1", geoHeaders: true, db: true,
			header: http.Header{"Cloudfront-Viewer-Country": {"FR"}}, wantIP: "198.51.100.10", wantGeo: token.Geo{Country: "SE"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Identifier{Trusted: trusted, GeoHeaders: tc.geoHeaders}
			if tc.db {
				v.Locator = db
			}
			r := &http.Request{RemoteAddr: tc.remote, Header: tc.header}
			if r.Header == nil {
				r.Header = http.Header{}
			}
			ip, g := v.Identify(r)
			if ip.String() != tc.wantIP || g != tc.wantGeo {
				t.Fatalf("got %s %+v, want %s %+v", ip, g, tc.wantIP, tc.wantGeo)
			}
		})
	}
}

// TestASN: the viewer's network operator comes from a trusted
// CloudFront-Viewer-ASN header with geo headers on (never from an
// untrusted peer's, nor a malformed one), else from the ASN database.
func TestASN(t *testing.T) {
	trusted, _ := ParseTrusted([]string{"10.0.0.0/8"})
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
			v := Identifier{Trusted: trusted, GeoHeaders: tc.geoHeaders}
			if tc.db {
				v.ASNs = db
			}
			if v.KnowsASN() != (tc.geoHeaders || tc.db) {
				t.Errorf("KnowsASN %v", v.KnowsASN())
			}
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			if tc.header != "" {
				r.Header.Set("CloudFront-Viewer-ASN", tc.header)
			}
			ip, _ := v.Identify(r)
			if got := v.ASN(r, ip); got != tc.want {
				t.Errorf("AS%d, want AS%d", got, tc.want)
			}
		})
	}
}

// TestParseTrusted: CIDRs and single addresses, masked; a bad entry is
// an error.
func TestParseTrusted(t *testing.T) {
	got, err := ParseTrusted([]string{"10.1.2.3/8", "192.0.2.1", "2001:db8::/32", "::ffff:192.0.2.9"})
	if err != nil || len(got) != 4 || got[0].String() != "10.0.0.0/8" || got[1].String() != "192.0.2.1/32" || got[3].String() != "192.0.2.9/32" {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := ParseTrusted([]string{"10.0.0.0/8", "nope"}); err == nil || err.Error() != `[1] "nope" is not a CIDR or an address` {
		t.Errorf("error %v", err)
	}
	for _, bad := range []string{"", "10.0.0.0/33", "example.com", "10.0.0"} {
		if _, err := ParseTrusted([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestCDNHeaders: behind a CDN, the header it gives the viewer's address
// in (named by IPHeader) wins over X-Forwarded-For, from a trusted peer
// only; CloudFront's address:port form; a malformed or repeated one falls
// back to the walk; Akamai's Edgescape gives the location.
func TestCDNHeaders(t *testing.T) {
	trusted, _ := ParseTrusted([]string{"10.0.0.0/8"})
	for _, tc := range []struct {
		name, header, remote string
		h                    http.Header
		wantIP               string
		wantGeo              token.Geo
	}{
		{"CloudFront", "CloudFront-Viewer-Address", "10.0.0.1:1",
			http.Header{"Cloudfront-Viewer-Address": {"203.0.113.9:46532"}, "X-Forwarded-For": {"6.6.6.6"}, "Cloudfront-Viewer-Country": {"FR"}},
			"203.0.113.9", token.Geo{Country: "FR"}},
		{"CloudFront IPv6", "CloudFront-Viewer-Address", "10.0.0.1:1",
			http.Header{"Cloudfront-Viewer-Address": {"2001:db8::9:46532"}}, "2001:db8::9", token.Geo{}},
		{"CloudFront IPv6, four-digit port", "CloudFront-Viewer-Address", "10.0.0.1:1",
			http.Header{"Cloudfront-Viewer-Address": {"2001:db8::9:4653"}}, "2001:db8::9", token.Geo{}},
		{"CloudFront without a port: the walk", "CloudFront-Viewer-Address", "10.0.0.1:1",
			http.Header{"Cloudfront-Viewer-Address": {"203.0.113.9"}, "X-Forwarded-For": {"203.0.113.7"}}, "203.0.113.7", token.Geo{}},
		{"CloudFront IPv6 bracketed", "CloudFront-Viewer-Address", "10.0.0.1:1",
			http.Header{"Cloudfront-Viewer-Address": {"[2001:db8::9]:46532"}}, "2001:db8::9", token.Geo{}},
		{"Cloudflare", "CF-Connecting-IP", "10.0.0.1:1",
			http.Header{"Cf-Connecting-Ip": {"198.51.100.4"}, "Cf-Ipcountry": {"DE"}}, "198.51.100.4", token.Geo{Country: "DE"}},
		{"Cloudflare IPv6", "CF-Connecting-IP", "10.0.0.1:1",
			http.Header{"Cf-Connecting-Ip": {"2001:db8::4"}}, "2001:db8::4", token.Geo{}},
		{"Akamai", "True-Client-IP", "10.0.0.1:1",
			http.Header{"True-Client-Ip": {"192.0.2.44"}, "X-Akamai-Edgescape": {"georegion=246,country_code=US,region_code=CA,city=SANJOSE,lat=37.33"}},
			"192.0.2.44", token.Geo{Country: "US", Region: "CA", City: "SANJOSE"}},
		{"untrusted peer", "CF-Connecting-IP", "198.51.100.10:1",
			http.Header{"Cf-Connecting-Ip": {"203.0.113.9"}, "Cf-Ipcountry": {"DE"}}, "198.51.100.10", token.Geo{}},
		{"absent: the walk", "True-Client-IP", "10.0.0.1:1",
			http.Header{"X-Forwarded-For": {"203.0.113.7"}}, "203.0.113.7", token.Geo{}},
		{"malformed: the walk", "True-Client-IP", "10.0.0.1:1",
			http.Header{"True-Client-Ip": {"nobody"}, "X-Forwarded-For": {"203.0.113.7"}}, "203.0.113.7", token.Geo{}},
		{"repeated: the walk", "True-Client-IP", "10.0.0.1:1",
			http.Header{"True-Client-Ip": {"192.0.2.1", "192.0.2.2"}, "X-Forwarded-For": {"203.0.113.7"}}, "203.0.113.7", token.Geo{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Identifier{Trusted: trusted, GeoHeaders: true, IPHeader: tc.header}
			ip, g := v.Identify(&http.Request{RemoteAddr: tc.remote, Header: tc.h})
			if ip.String() != tc.wantIP || g != tc.wantGeo {
				t.Errorf("got %s %+v, want %s %+v", ip, g, tc.wantIP, tc.wantGeo)
			}
		})
	}
}

// FuzzIdentify: any header values give an address that is valid or not,
// never a panic; a valid one prints and parses back as itself.
func FuzzIdentify(f *testing.F) {
	for _, s := range []string{"203.0.113.9", "203.0.113.9:443", "[2001:db8::1]:4711", "2001:db8::9:46532", `for="[2001:db8::7]:4711";proto=https, for=10.3.3.3`,
		"1.1.1.1, junk, 10.0.0.1", "georegion=246,country_code=US,region_code=CA,city=SANJOSE", "", ",,,", "for=unknown", "::ffff:10.0.0.1"} {
		f.Add(s, s)
	}
	trusted, _ := ParseTrusted([]string{"10.0.0.0/8"})
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, hdr := range []string{"CloudFront-Viewer-Address", "CF-Connecting-IP", ""} {
			v := Identifier{Trusted: trusted, GeoHeaders: true, IPHeader: hdr}
			r := &http.Request{RemoteAddr: "10.0.0.1:1", Header: http.Header{
				"X-Forwarded-For": {a}, "Forwarded": {b}, "Cloudfront-Viewer-Address": {a}, "Cf-Connecting-Ip": {b},
				"X-Akamai-Edgescape": {b}, "Cloudfront-Viewer-Asn": {a},
			}}
			ip, _ := v.Identify(r)
			if ip.IsValid() {
				if back, err := netip.ParseAddr(ip.String()); err != nil || back != ip || ip.Zone() != "" || ip.Is4In6() {
					t.Fatalf("address %v does not round-trip (%v)", ip, err)
				}
			}
			v.ASN(r, ip)
		}
	})
}
