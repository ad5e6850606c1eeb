package edge

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/smd-media/smd/internal/geo"
	"github.com/smd-media/smd/token"
)

// viewers tells who a request comes from: the socket's peer, or, when the
// peer is a trusted proxy, the address it forwarded; and where they are.
type viewers struct {
	trusted []netip.Prefix
	// locator finds the location from the address; nil when the location
	// comes from trusted headers or is not wanted.
	locator geo.Locator
	// asns finds viewers' network operators; optional.
	asns geo.ASNLocator
	// geoHeaders reads CloudFront/Cloudflare viewer headers from trusted
	// proxies.
	geoHeaders bool
}

func parsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, err2 := netip.ParseAddr(s)
			if err2 != nil {
				return nil, err
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
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

// identify returns the viewer's address and location. A forwarded address
// is believed only from a trusted peer: X-Forwarded-For is read from the
// right, skipping trusted proxies, so a viewer cannot choose their address
// by sending the header themselves; Forwarded (RFC 7239) is read the same
// way when X-Forwarded-For is absent.
func (v *viewers) identify(r *http.Request) (netip.Addr, token.Geo) {
	peer := remoteAddr(r.RemoteAddr)
	if !peer.IsValid() || !v.isTrusted(peer) {
		return peer, v.locate(peer, nil)
	}
	ip := peer
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		ip = v.rightmostUntrusted(splitList(xff, parseXFF), peer)
	} else if fwd := r.Header.Values("Forwarded"); len(fwd) > 0 {
		ip = v.rightmostUntrusted(splitList(fwd, parseForwardedFor), peer)
	}
	return ip, v.locate(ip, r.Header)
}

// rightmostUntrusted walks the chain of addresses from the right and
// returns the first that is not a trusted proxy. An unparsable entry stops
// the walk: what is left of it cannot be believed, so the last trusted hop
// is the viewer.
func (v *viewers) rightmostUntrusted(chain []netip.Addr, peer netip.Addr) netip.Addr {
	ip := peer
	for i := len(chain) - 1; i >= 0; i-- {
		a := chain[i]
		if !a.IsValid() {
			return ip
		}
		ip = a
		if !v.isTrusted(a) {
			return a
		}
	}
	return ip
}

// asn returns the viewer's autonomous system (network operator): from a
// trusted CloudFront-Viewer-ASN header when locations come from headers,
// else from the ASN database; 0 unknown.
func (v *viewers) asn(r *http.Request, ip netip.Addr) uint32 {
	if v.geoHeaders {
		if h := r.Header.Get("CloudFront-Viewer-ASN"); h != "" {
			if peer := remoteAddr(r.RemoteAddr); peer.IsValid() && v.isTrusted(peer) {
				if n, err := strconv.ParseUint(h, 10, 32); err == nil {
					return uint32(n)
				}
			}
		}
	}
	if v.asns != nil && ip.IsValid() {
		return v.asns.ASN(ip)
	}
	return 0
}

// locate finds the location: from trusted headers (h is nil for an
// untrusted peer) or from the database.
func (v *viewers) locate(ip netip.Addr, h http.Header) token.Geo {
	if v.geoHeaders {
		if h == nil {
			return token.Geo{}
		}
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
		return g
	}
	if v.locator != nil && ip.IsValid() {
		return v.locator.Locate(ip)
	}
	return token.Geo{}
}

func remoteAddr(s string) netip.Addr {
	ap, err := netip.ParseAddrPort(s)
	if err == nil {
		return ap.Addr().WithZone("")
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, _ := netip.ParseAddr(host)
	return a.WithZone("")
}

// splitList flattens comma-separated header values, parsing each element;
// an element that does not parse becomes an invalid address.
func splitList(values []string, parse func(string) netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, v := range values {
		for _, el := range strings.Split(v, ",") {
			out = append(out, parse(strings.TrimSpace(el)))
		}
	}
	return out
}

func parseXFF(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap.Addr()
		}
	}
	return a.WithZone("")
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
			return ap.Addr()
		}
		a, _ := netip.ParseAddr(v)
		return a.WithZone("")
	}
	return netip.Addr{}
}
