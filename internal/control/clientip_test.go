package control

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/smd-media/smd/token"
)

func TestIdentify(t *testing.T) {
	trusted, _ := parsePrefixes([]string{"10.0.0.0/8", "192.0.2.1"})
	tests := []struct {
		name, peer string
		xff        []string
		country    string
		geo        bool
		want       string
		wantGeo    token.Geo
	}{
		{"direct", "203.0.113.5:1234", nil, "", false, "203.0.113.5", token.Geo{}},
		{"untrusted peer's XFF ignored", "203.0.113.5:1234", []string{"198.51.100.1"}, "FR", true, "203.0.113.5", token.Geo{}},
		{"trusted peer", "10.1.2.3:80", []string{"198.51.100.1"}, "", false, "198.51.100.1", token.Geo{}},
		{"rightmost untrusted", "10.1.2.3:80", []string{"1.1.1.1, 198.51.100.1, 192.0.2.1"}, "", false, "198.51.100.1", token.Geo{}},
		{"split headers", "10.1.2.3:80", []string{"1.1.1.1", "198.51.100.1"}, "", false, "198.51.100.1", token.Geo{}},
		{"garbage stops the walk", "10.1.2.3:80", []string{"198.51.100.1, junk, 10.0.0.9"}, "", false, "10.0.0.9", token.Geo{}},
		{"all trusted", "10.1.2.3:80", []string{"10.0.0.7"}, "", false, "10.0.0.7", token.Geo{}},
		{"mapped peer", "[::ffff:10.1.2.3]:80", []string{"198.51.100.1"}, "", false, "198.51.100.1", token.Geo{}},
		{"geo from trusted", "10.1.2.3:80", nil, "FR", true, "10.1.2.3", token.Geo{Country: "FR"}},
		{"geo headers off", "10.1.2.3:80", nil, "FR", false, "10.1.2.3", token.Geo{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := viewers{trusted: trusted, geoHeaders: tc.geo}
			r := httptest.NewRequest("GET", "/v1/token", nil)
			r.RemoteAddr = tc.peer
			for _, x := range tc.xff {
				r.Header.Add("X-Forwarded-For", x)
			}
			if tc.country != "" {
				r.Header.Set("CloudFront-Viewer-Country", tc.country)
			}
			ip, g := v.identify(r)
			if ip != netip.MustParseAddr(tc.want) || g != tc.wantGeo {
				t.Errorf("identify = %v %+v, want %s %+v", ip, g, tc.want, tc.wantGeo)
			}
		})
	}
}
