package simulate

import (
	"math/rand/v2"
	"net/netip"
)

// The address plan. Every synthetic address comes from a range that can
// never reach a real viewer: the IPv4 documentation networks (RFC 5737),
// the IPv6 documentation prefix 2001:db8::/32 (RFC 3849) and, for homes,
// the shared address space of carrier-grade NAT 100.64.0.0/10 (RFC 6598).
// Within one session, addresses that a detector must tell apart sit in
// different /24s (IPv4) or /48s (IPv6); the two devices of one home share a
// /24, as they do behind a carrier's NAT pool.
//
//	legitimate, first address   198.51.100.1-254 (TEST-NET-2), then 2001:db8:1::<n>
//	legitimate, after the move  2001:db8:2:<n>::1, one /64 per device (a cellular network)
//	home of two devices         100.64.0.0/10, one /24 per home, devices .10 and .11
//	shared token, replica 0     203.0.113.1-199 (TEST-NET-3)
//	shared token, replica 1     192.0.2.1-254 (TEST-NET-1)
//	shared token, replica k>=2  2001:db8:<5000+k>::<n>, one /48 per replica
//	restreamer                  203.0.113.200-254
//	impersonator m, address r   2001:db8:<6000+r>::<m+1>, one /48 per address
var (
	netLegit6   = netip.MustParseAddr("2001:db8:1::")
	netMobile6  = netip.MustParseAddr("2001:db8:2::")
	netHome     = netip.MustParseAddr("100.64.0.0")
	netShared0  = netip.MustParseAddr("203.0.113.0")
	netShared1  = netip.MustParseAddr("192.0.2.0")
	netLegit4   = netip.MustParseAddr("198.51.100.0")
	netShared6  = netip.MustParseAddr("2001:db8::")
	restreamer4 = netip.MustParseAddr("203.0.113.200")
)

// Countries (ISO 3166-1 alpha-2, as CloudFront-Viewer-Country sends them).
var (
	// legitCountries: each legitimate session stays in one of them.
	legitCountries = []string{"US", "GB", "DE", "FR", "BR", "JP"}
	// sharedCountries: replica k of a shared token plays from the k-th.
	sharedCountries = []string{"US", "BR", "DE", "IN", "JP", "NG", "ID", "VN", "MX", "TR", "PL", "EG"}
)

// restreamerCountry is where restreamers' servers are.
const restreamerCountry = "NL"

// User agents of players, and of ffmpeg, which restreamers use.
var playerUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"AppleCoreMedia/1.0.0.21F90 (iPhone; U; CPU OS 17_5_1 like Mac OS X; en_us)",
	"ExoPlayerLib/2.19.1 (Linux; Android 14) ",
	"Mozilla/5.0 (SMART-TV; LINUX; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/7.0 TV Safari/537.36",
	"Roku/DVP-13.0 (13.0.0.4163-C3)",
}

const restreamerUA = "Lavf/60.16.100"

// addToAddr returns a + n in its last bytes.
func addToAddr(a netip.Addr, n uint64) netip.Addr {
	b := a.As16()
	for i := 15; i >= 0 && n > 0; i-- {
		s := uint64(b[i]) + n&0xff
		b[i] = byte(s)
		n = n>>8 + s>>8
	}
	r := netip.AddrFrom16(b)
	if a.Is4() {
		r = r.Unmap()
	}
	return r
}

// withGroup returns a with bytes 4-5 (the third group of an IPv6 address)
// set to g.
func withGroup(a netip.Addr, g uint16) netip.Addr {
	b := a.As16()
	b[4], b[5] = byte(g>>8), byte(g)
	return netip.AddrFrom16(b)
}

// withSubnet returns a with bytes 6-7 (the fourth group) set to g.
func withSubnet(a netip.Addr, g uint16) netip.Addr {
	b := a.As16()
	b[6], b[7] = byte(g>>8), byte(g)
	return netip.AddrFrom16(b)
}

// legitAddr is the (first) address of legitimate session i.
func legitAddr(i int) netip.Addr {
	if i < 254 {
		return addToAddr(netLegit4, uint64(i+1))
	}
	return addToAddr(netLegit6, uint64(i+1))
}

// mobileAddr is the address legitimate session i moves to.
func mobileAddr(i int) netip.Addr {
	return addToAddr(withSubnet(netMobile6, uint16(i)), 1)
}

// homeAddrs are the two devices' addresses of home h.
func homeAddrs(h int) (netip.Addr, netip.Addr) {
	base := addToAddr(netHome, uint64(h%(1<<14))<<8)
	return addToAddr(base, 10), addToAddr(base, 11)
}

// sharedAddr is the address of replica k of shared token j.
func sharedAddr(j, k int) netip.Addr {
	switch k {
	case 0:
		return addToAddr(netShared0, uint64(j%199+1))
	case 1:
		return addToAddr(netShared1, uint64(j%254+1))
	}
	return addToAddr(withGroup(netShared6, uint16(0x5000+k)), uint64(j+1))
}

// restreamerAddr is the address of restreamer r.
func restreamerAddr(r int) netip.Addr {
	return addToAddr(restreamer4, uint64(r%55))
}

// legitCountry is the country of legitimate session i.
func legitCountry(i int) string { return legitCountries[i%len(legitCountries)] }

// sharedCountry is the country of replica k of a shared token.
func sharedCountry(k int) string { return sharedCountries[k%len(sharedCountries)] }

// playerUA picks a player's user agent.
func playerUA(rng *rand.Rand) string { return playerUAs[rng.IntN(len(playerUAs))] }

// twoUAs picks two different user agents, for two devices of one home.
func twoUAs(rng *rand.Rand) (string, string) {
	i := rng.IntN(len(playerUAs))
	j := (i + 1 + rng.IntN(len(playerUAs)-1)) % len(playerUAs)
	return playerUAs[i], playerUAs[j]
}

// impersonatorAddr is address r of impersonator m.
func impersonatorAddr(m, r int) netip.Addr {
	return addToAddr(withGroup(netShared6, uint16(0x6000+r)), uint64(m+1))
}

// The addresses of the kinds of issue 11:
//
//	wide token j, address r        198.18.0.0/15 (RFC 2544), one /24 per address: 198.18.<n/256>.<n%256>.1-ish, n = j*K+r
//	restreamer at real time r       203.0.113.200-254, after the restreamers
//	downloader d                    192.0.2.200-249
//	household h                     one address 100.64.<...>.20, behind the home's NAT
//	CGNAT viewer                    a carrier pool of two /24s, 100.66.0.0/23, shared by every CGNAT viewer
//	mobile m                        home 100.72.<m>.10 and 2001:db8:7:<m>::10, mobile data 100.73.<m>.10 and
//	                                2001:db8:8:<m>::10, office 100.74.<m>.10 and 2001:db8:9:<m>::10
//	other hard legitimate kinds     as legitimate sessions, numbered after them
var (
	netWide     = netip.MustParseAddr("198.18.0.0")
	netDownload = netip.MustParseAddr("192.0.2.200")
	netCGNAT    = netip.MustParseAddr("100.66.0.0")
	netMobile4  = [3]netip.Addr{netip.MustParseAddr("100.72.0.10"), netip.MustParseAddr("100.73.0.10"), netip.MustParseAddr("100.74.0.10")}
	netMobileV6 = [3]uint16{7, 8, 9}
)

// maxWideAddrs is how many /24s 198.18.0.0/15 holds.
const maxWideAddrs = 512

// wideCountries are the countries of a wide-intl token's addresses in
// turn; a wide token's are all wideCountry.
var wideCountries = []string{"US", "BR", "DE", "IN", "JP"}

const wideCountry = "DE"

// wideAddr is the n-th address of the wide kinds, each in a /24 of its
// own.
func wideAddr(n int) netip.Addr {
	return addToAddr(netWide, uint64(n%maxWideAddrs)<<8|1)
}

// downloaderAddr is the address of downloader d.
func downloaderAddr(d int) netip.Addr { return addToAddr(netDownload, uint64(d%50)) }

// householdAddr is the one address of household h.
func householdAddr(h int) netip.Addr {
	a, _ := homeAddrs(8192 + h)
	return addToAddr(a, 10) // .20
}

// cgnatAddr picks an address of the carrier's pool.
func cgnatAddr(rng *rand.Rand) netip.Addr {
	return addToAddr(netCGNAT, uint64(rng.IntN(2))<<8|uint64(1+rng.IntN(254)))
}

// mobileAddrs are mobile m's IPv4 and IPv6 addresses at place p (0 home,
// 1 mobile data, 2 office).
func mobileAddrs(m, p int) (netip.Addr, netip.Addr) {
	v4 := addToAddr(netMobile4[p], uint64(m%256)<<8)
	v6 := addToAddr(withSubnet(withGroup(netShared6, netMobileV6[p]), uint16(m)), 0x10)
	return v4, v6
}

// threeUAs picks three different user agents, for three devices of one
// home.
func threeUAs(rng *rand.Rand) [3]string {
	i := rng.IntN(len(playerUAs))
	j := (i + 1 + rng.IntN(len(playerUAs)-1)) % len(playerUAs)
	k := i
	for k == i || k == j {
		k = rng.IntN(len(playerUAs))
	}
	return [3]string{playerUAs[i], playerUAs[j], playerUAs[k]}
}

// Network operators (CloudFront-Viewer-ASN), from the ASNs reserved for
// documentation (RFC 5398: 64496-64511 and 65536-65551):
//
//	home ISPs, one per legitimate country   64496-64501
//	mobile carriers (CGNAT, mobile data)    64502
//	offices                                 64503
//	wide tokens in one country              64504-64508, five ISPs in turn
//	data centres (restreamers)              64510
//	shared, wide-intl and impersonators     65536-65551, one per address in turn
const (
	asnCarrier    = 64502
	asnOffice     = 64503
	asnDataCentre = 64510
)

// homeASN is the home ISP of legitimate session i (by its country).
func homeASN(i int) uint32 { return 64496 + uint32(i%len(legitCountries)) }

// wideASN is the operator of address r of a wide token in one country.
func wideASN(r int) uint32 { return 64504 + uint32(r%5) }

// foreignASN is the operator of the r-th address of a token used from
// places of their own.
func foreignASN(r int) uint32 { return 65536 + uint32(r%16) }
