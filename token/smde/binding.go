package smde

import (
	"net/netip"
	"net/url"
	"strings"
)

// The binding input ("intsig input") is the bound viewer attributes, each
// followed by ':', with the last ':' removed, in this order: IP, country,
// city, region, session id, each bound header present, each bound query
// value present. Its HMAC-SHA256 under the token's key is the intsig claim.

// appendIP appends the SDK's form of an address: IPv4 as a dotted quad,
// IPv6 as eight groups of four lower-case hex digits ("::" expanded,
// leading zeros kept). a must be unmapped and without zone.
func appendIP(dst []byte, a netip.Addr) []byte {
	if a.Is4() {
		return a.AppendTo(dst)
	}
	const hex = "0123456789abcdef"
	b := a.As16()
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, hex[b[i]>>4], hex[b[i]&15], hex[b[i+1]>>4], hex[b[i+1]&15])
	}
	return dst
}

// viewerAddr is the address as bound: zone dropped, IPv4-mapped IPv6
// treated as the IPv4 address it carries.
func viewerAddr(a netip.Addr) netip.Addr { return a.WithZone("").Unmap() }

// ipVersion returns 4 or 6 for a valid, unmapped address.
func ipVersion(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

func appendAttr(dst []byte, v string) []byte { return append(append(dst, v...), ':') }

// finishInput removes the trailing ':'.
func finishInput(b []byte) []byte {
	if n := len(b); n > 0 {
		return b[:n-1]
	}
	return b
}

// queryValue returns the first value of the query parameter name, decoded
// as application/x-www-form-urlencoded (as Node's querystring and
// CloudFront do), and whether it is present and non-empty.
func queryValue(rawQuery, name string) (string, bool) {
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != name {
			if !strings.ContainsAny(k, "%+") {
				continue
			}
			dk, err := url.QueryUnescape(k)
			if err != nil || dk != name {
				continue
			}
		}
		if strings.ContainsAny(v, "%+") {
			dv, err := url.QueryUnescape(v)
			if err != nil {
				return "", false
			}
			v = dv
		}
		return v, v != ""
	}
	return "", false
}
