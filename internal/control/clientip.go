package control

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/smd-media/smd/internal/geo"
	"github.com/smd-media/smd/token"
)

// viewers tells who calls: the socket's peer or, from a trusted proxy,
// the rightmost untrusted address of X-Forwarded-For; and where they are.
// It follows the edge's rules (internal/edge/viewer.go).
type viewers struct {
	trusted    []netip.Prefix
	geoHeaders bool
	locator    geo.Locator
}

func (v *viewers) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range v.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// identify returns the client's address (invalid if unknown) and
// location.
func (v *viewers) identify(r *http.Request) (netip.Addr, token.Geo) {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !v.isTrusted(peer) {
		return peer, v.locate(peer, nil)
	}
	ip := peer
	var chain []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		chain = append(chain, strings.Split(h, ",")...)
	}
	// Walk from the right; an unparsable entry stops the walk, since what
	// is left of it cannot be believed.
	for i := len(chain) - 1; i >= 0; i-- {
		a, ok := parseForwarded(strings.TrimSpace(chain[i]))
		if !ok {
			break
		}
		ip = a
		if !v.isTrusted(a) {
			break
		}
	}
	return ip, v.locate(ip, r.Header)
}

// locate reads trusted geo headers (h is nil for an untrusted peer) or
// asks the locator.
func (v *viewers) locate(ip netip.Addr, h http.Header) token.Geo {
	if v.geoHeaders && h != nil {
		g := token.Geo{
			Country: h.Get("CloudFront-Viewer-Country"),
			Region:  h.Get("CloudFront-Viewer-Country-Region"),
			City:    h.Get("CloudFront-Viewer-City"),
		}
		if g.Country == "" {
			if c := h.Get("CF-IPCountry"); c != "XX" && c != "T1" {
				g.Country = c
			}
		}
		if g != (token.Geo{}) {
			return g
		}
	}
	if v.locator != nil && ip.IsValid() {
		return v.locator.Locate(ip)
	}
	return token.Geo{}
}

func parseForwarded(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	return netip.Addr{}, false
}

func peerAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone("").Unmap()
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, _ := netip.ParseAddr(host)
	return a.WithZone("").Unmap()
}
