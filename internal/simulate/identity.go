package simulate

import (
	"net/http"
	"net/netip"
)

// Identity is what the edge sees of one simulated device: an address, a
// country and a user agent. The simulator sends them as X-Forwarded-For,
// CloudFront-Viewer-Country and User-Agent; the edge believes the first
// two only from a trusted proxy with geo source "headers".
type Identity struct {
	IP        netip.Addr `json:"ip"`
	Country   string     `json:"country"`
	UserAgent string     `json:"user_agent"`
}

// apply sets the identity's headers on a request.
func (id Identity) apply(h http.Header) {
	h.Set("X-Forwarded-For", id.IP.String())
	h.Set("CloudFront-Viewer-Country", id.Country)
	h.Set("User-Agent", id.UserAgent)
}
