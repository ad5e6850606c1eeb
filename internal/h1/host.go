package h1

import (
	"net/netip"
	"strings"
)

// ValidHost reports whether h is a valid Host value: empty (RFC 9112
// section 3.2 allows it when the target has no authority), or uri-host
// [ ":" port ] of RFC 3986 section 3.2.2: an IP-literal ("[" IPv6 "]";
// not IPvFuture), an IPv4 address, or a reg-name (unreserved characters and
// sub-delims; not percent-escapes), with a port of at most five digits up
// to 65535. Go's net/http checks only the characters of a Host, so that
// `[::1`, `a:b:c` or `x:abc` pass it; both engines of the edge refuse them
// with this.
func ValidHost(h string) bool {
	if h == "" {
		return true
	}
	host, port := h, ""
	if h[0] == '[' {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		host, port = h[:end+1], h[end+1:]
		if port != "" {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
		}
		if !validIPLiteral(host[1:end]) {
			return false
		}
	} else if i := strings.IndexByte(h, ':'); i >= 0 {
		host, port = h[:i], h[i+1:]
		if port == "" {
			return false // "host:" is allowed by RFC 3986 but sent by no client
		}
		if !validRegName(host) {
			return false
		}
	} else if !validRegName(host) {
		return false
	}
	if h[len(h)-1] == ':' {
		return false
	}
	return validPort(port)
}

// validPort: empty, or 1-5 digits up to 65535.
func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// validIPLiteral checks the inside of "[...]": an IPv6 address without a
// zone. IPvFuture ("[v1.x]"), which RFC 3986 allows, no HTTP client sends
// and net/url cannot parse: refused.
func validIPLiteral(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6() && a.Zone() == ""
}

// validRegName checks a non-empty reg-name (an IPv4 address is one too)
// of unreserved characters and sub-delims.
func validRegName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isUnreserved(c), isSubDelim(c):
		default:
			// A percent-escape too: RFC 3986 allows it in a reg-name,
			// no client sends one, and net/url refuses most.
			return false
		}
	}
	return true
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func isSubDelim(c byte) bool {
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=':
		return true
	}
	return false
}
