package simulate

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// documented are the ranges the plan may use: documentation (RFC 5737,
// RFC 3849) and carrier-grade NAT (RFC 6598) addresses only.
var documented = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("100.64.0.0/10"),
}

func inDocumented(a netip.Addr) bool {
	for _, p := range documented {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// group is the /24 of an IPv4 address or the /48 of an IPv6 one.
func group(a netip.Addr) netip.Prefix {
	if a.Is4() {
		return netip.PrefixFrom(a, 24).Masked()
	}
	return netip.PrefixFrom(a, 48).Masked()
}

func TestAddressPlan(t *testing.T) {
	seen := map[netip.Addr]string{}
	use := func(a netip.Addr, who string) {
		t.Helper()
		if !a.IsValid() || !inDocumented(a) {
			t.Errorf("%s: %v is outside the documented ranges", who, a)
		}
		if prev, dup := seen[a]; dup {
			t.Errorf("%s: %v already used by %s", who, a, prev)
		}
		seen[a] = who
	}
	for i := range 600 {
		use(legitAddr(i), "legit")
		use(mobileAddr(i), "mobile")
		if group(legitAddr(i)) == group(mobileAddr(i)) {
			t.Errorf("legit %d moves within %v", i, group(legitAddr(i)))
		}
		a, b := homeAddrs(i)
		use(a, "home")
		use(b, "home")
		if group(a) != group(b) {
			t.Errorf("home %d: %v and %v in different /24s", i, a, b)
		}
	}
	for j := range 150 {
		groups := map[netip.Prefix]bool{}
		countries := map[string]bool{}
		for k := range MaxShareIPs {
			a := sharedAddr(j, k)
			use(a, "shared")
			groups[group(a)] = true
			countries[sharedCountry(k)] = true
		}
		if len(groups) != MaxShareIPs {
			t.Errorf("shared %d: %d groups for %d replicas", j, len(groups), MaxShareIPs)
		}
		if len(countries) != len(sharedCountries) {
			t.Errorf("shared %d: %d countries", j, len(countries))
		}
	}
	for r := range 55 {
		use(restreamerAddr(r), "restreamer")
	}
	if got := sharedAddr(0, 2).String(); got != "2001:db8:5002::1" {
		t.Errorf("sharedAddr(0, 2) = %s", got)
	}
	if got := mobileAddr(5).String(); got != "2001:db8:2:5::1" {
		t.Errorf("mobileAddr(5) = %s", got)
	}
	if a, b := homeAddrs(300); a.String() != "100.65.44.10" || b.String() != "100.65.44.11" {
		t.Errorf("homeAddrs(300) = %s %s", a, b)
	}
}

func TestTwoUAs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		if a, b := twoUAs(rng); a == b {
			t.Fatalf("same user agent twice: %q", a)
		}
	}
}
