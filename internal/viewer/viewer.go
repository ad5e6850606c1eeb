// Package viewer tells who an HTTP request comes from and where they are:
// the socket's peer or, behind trusted proxies, the address they
// forwarded (a CDN's own header such as CF-Connecting-IP when one is
// named, else X-Forwarded-For, else RFC 7239 Forwarded), the location from
// the trusted proxies' CDN headers (CloudFront-Viewer-*, CF-IPCountry,
// X-Akamai-Edgescape) or a database, and the network operator (CloudFront-Viewer-ASN or a
// database). The edge's pipeline and the control plane's token API both
// identify viewers with it, so that a token is bound to the address and
// place its edge will see.
//
// It imports only geo and token: nothing of the edge's process, the
// control plane or NATS.
package viewer

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/smd-media/smd/internal/geo"
	"github.com/smd-media/smd/token"
)

// Identifier identifies viewers. The zero value believes nobody's headers
// and knows no location.
type Identifier struct {
	// Trusted are the proxies (CIDRs) whose forwarded address and geo
	// headers are believed.
	Trusted []netip.Prefix
	// IPHeader, when set, names the header in which the trusted proxy in
	// front (a CDN) gives the viewer's address, instead of the
	// X-Forwarded-For walk: CloudFront-Viewer-Address (address:port),
	// CF-Connecting-IP (Cloudflare), True-Client-IP (Akamai). A trusted
	// request without it falls back to the walk.
	IPHeader string
	// GeoHeaders reads the location from trusted proxies' CDN headers.
	GeoHeaders bool
	// Locator finds the location from the address when no trusted header
	// gives it; optional.
	Locator geo.Locator
	// ASNs finds the network operator from the address when no trusted
	// CloudFront-Viewer-ASN gives it; optional.
	ASNs geo.ASNLocator
}

// ParseTrusted reads CIDRs or single addresses ("10.0.0.0/8",
// "192.0.2.1"; an IPv4-mapped address counts as its IPv4 form) into
// prefixes; the error names the first bad entry and its index.
func ParseTrusted(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return nil, fmt.Errorf("[%d] %q is not a CIDR or an address", i, s)
			}
			a = a.WithZone("").Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// IsTrusted reports whether a is one of the trusted proxies.
func (v *Identifier) IsTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range v.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Identify returns the viewer's address (invalid if unknown) and
// location. A forwarded address is believed only from a trusted peer:
// X-Forwarded-For is read from the right, skipping trusted proxies, so a
// viewer cannot choose their address by sending the header themselves;
// Forwarded (RFC 7239) is read the same way when X-Forwarded-For is
// absent. Addresses are returned without zone and IPv4-mapped form.
func (v *Identifier) Identify(r *http.Request) (netip.Addr, token.Geo) {
	peer := Peer(r.RemoteAddr)
	if !peer.IsValid() || !v.IsTrusted(peer) {
		return peer, v.locate(peer, nil)
	}
	ip := peer
	if v.IPHeader != "" {
		if h := r.Header.Values(v.IPHeader); len(h) == 1 {
			if a := v.parseIPHeader(strings.TrimSpace(h[0])); a.IsValid() {
				return a, v.locate(a, r.Header)
			}
		}
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		ip = v.rightmostUntrusted(xff, parseXFF, peer)
	} else if fwd := r.Header.Values("Forwarded"); len(fwd) > 0 {
		ip = v.rightmostUntrusted(fwd, parseForwardedFor, peer)
	}
	return ip, v.locate(ip, r.Header)
}

// rightmostUntrusted walks the chain of addresses in the comma-separated
// header values from the right (without building the list: this runs on
// every request behind a proxy) and returns the first that is not a
// trusted proxy. An element that does not parse (an empty one included)
// stops the walk: what is left of it cannot be believed, so the last
// trusted hop is the viewer.
func (v *Identifier) rightmostUntrusted(values []string, parse func(string) netip.Addr, peer netip.Addr) netip.Addr {
	ip := peer
	for i := len(values) - 1; i >= 0; i-- {
		s := values[i]
		for {
			j := strings.LastIndexByte(s, ',')
			a := parse(strings.TrimSpace(s[j+1:]))
			if !a.IsValid() {
				return ip
			}
			ip = a
			if !v.IsTrusted(a) {
				return a
			}
			if j < 0 {
				break
			}
			s = s[:j]
		}
	}
	return ip
}

// ASN returns the viewer's autonomous system (network operator): from a
// trusted CloudFront-Viewer-ASN header when GeoHeaders is on, else from
// the ASN database; 0 unknown.
func (v *Identifier) ASN(r *http.Request, ip netip.Addr) uint32 {
	if v.GeoHeaders {
		if h := r.Header.Get("CloudFront-Viewer-ASN"); h != "" {
			if peer := Peer(r.RemoteAddr); peer.IsValid() && v.IsTrusted(peer) {
				if n, err := strconv.ParseUint(h, 10, 32); err == nil {
					return uint32(n)
				}
			}
		}
	}
	if v.ASNs != nil && ip.IsValid() {
		return v.ASNs.ASN(ip)
	}
	return 0
}

// KnowsASN reports whether ASN can ever answer.
func (v *Identifier) KnowsASN() bool { return v.GeoHeaders || v.ASNs != nil }

// locate finds the location: from trusted headers (h is nil for an
// untrusted peer) when they say it, else from the database.
func (v *Identifier) locate(ip netip.Addr, h http.Header) token.Geo {
	if v.GeoHeaders && h != nil {
		g := token.Geo{
			Country: h.Get("CloudFront-Viewer-Country"),
			Region:  h.Get("CloudFront-Viewer-Country-Region"),
			City:    h.Get("CloudFront-Viewer-City"),
		}
		if g.Country == "" {
			if c := h.Get("CF-IPCountry"); c != "XX" && c != "T1" {
				g.Country = c // Cloudflare: XX unknown, T1 Tor
			}
		}
		if g.Country == "" {
			g = edgescape(h.Get("X-Akamai-Edgescape"))
		}
		if g != (token.Geo{}) {
			return g
		}
	}
	if v.Locator != nil && ip.IsValid() {
		return v.Locator.Locate(ip)
	}
	return token.Geo{}
}

// parseIPHeader reads the CDN's viewer address header: an address
// (CF-Connecting-IP, True-Client-IP), or for CloudFront-Viewer-Address an
// address and the viewer's source port, always present, after the last
// colon ("198.51.100.10:46532", "2001:db8::9:46532").
func (v *Identifier) parseIPHeader(s string) netip.Addr {
	if strings.EqualFold(v.IPHeader, "CloudFront-Viewer-Address") {
		i := strings.LastIndexByte(s, ':')
		if i < 0 {
			return netip.Addr{}
		}
		if _, err := strconv.ParseUint(s[i+1:], 10, 16); err != nil {
			return netip.Addr{}
		}
		s = strings.TrimSuffix(strings.TrimPrefix(s[:i], "["), "]")
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.WithZone("").Unmap()
}

// edgescape reads Akamai's X-Akamai-Edgescape header
// ("georegion=246,country_code=US,region_code=CA,city=SANJOSE,..."):
// country_code, region_code and city.
func edgescape(h string) token.Geo {
	var g token.Geo
	if h == "" {
		return g
	}
	for _, kv := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			continue
		}
		switch k {
		case "country_code":
			g.Country = v
		case "region_code":
			g.Region = v
		case "city":
			g.City = v
		}
	}
	return g
}

// Peer is the address of a request's RemoteAddr ("ip:port", or an
// address alone), without zone and IPv4-mapped form; invalid if none.
func Peer(remoteAddr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().WithZone("").Unmap()
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, _ := netip.ParseAddr(host)
	return a.WithZone("").Unmap()
}

// parseXFF reads one X-Forwarded-For element: an address, or an address
// and port.
func parseXFF(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap.Addr().WithZone("").Unmap()
		}
	}
	return a.WithZone("").Unmap()
}

// parseForwardedFor reads the for= parameter of one Forwarded element:
// for=192.0.2.60, for="[2001:db8::1]:4711", for=unknown.
func parseForwardedFor(el string) netip.Addr {
	for _, pair := range strings.Split(el, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !strings.EqualFold(k, "for") {
			continue
		}
		v = strings.Trim(v, `"`)
		if strings.HasPrefix(v, "[") {
			if i := strings.IndexByte(v, ']'); i > 0 {
				v = v[1:i]
			}
		} else if ap, err := netip.ParseAddrPort(v); err == nil {
			return ap.Addr().WithZone("").Unmap()
		}
		a, _ := netip.ParseAddr(v)
		return a.WithZone("").Unmap()
	}
	return netip.Addr{}
}
