package simulate

import (
	"net/http"
	"net/netip"
	"strconv"
)

// Identity is what the edge sees of one simulated device: an address, a
// country, a user agent and a network operator. The simulator sends them
// as X-Forwarded-For, CloudFront-Viewer-Country, User-Agent and
// CloudFront-Viewer-ASN; the edge believes all but the user agent only
// from a trusted proxy with geo source "headers".
type Identity struct {
	IP        netip.Addr `json:"ip"`
	Country   string     `json:"country"`
	UserAgent string     `json:"user_agent"`
	// ASN is its network operator, sent as CloudFront-Viewer-ASN; 0 none.
	ASN uint32 `json:"asn,omitempty"`
}

// apply sets the identity's headers on a request.
func (id Identity) apply(h http.Header) {
	h.Set("X-Forwarded-For", id.IP.String())
	h.Set("CloudFront-Viewer-Country", id.Country)
	h.Set("User-Agent", id.UserAgent)
	if id.ASN != 0 {
		h.Set("CloudFront-Viewer-ASN", strconv.FormatUint(uint64(id.ASN), 10))
	} else {
		h.Del("CloudFront-Viewer-ASN")
	}
}
