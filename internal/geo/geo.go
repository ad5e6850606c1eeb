// Package geo tells where a viewer is from their IP address, with a MaxMind
// database (GeoLite2/GeoIP2 City or Country, or any mmdb with the same
// record layout). Lookups that find nothing give an empty token.Geo: the
// token check then treats the location as unknown.
package geo

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/smd-media/smd/token"
)

// Locator finds a viewer's location.
type Locator interface {
	Locate(ip netip.Addr) token.Geo
}

// MMDB is a Locator over a MaxMind database held in memory.
type MMDB struct {
	r *maxminddb.Reader
}

// record is the part of a City/Country record smd reads.
type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"subdivisions"`
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
}

// OpenMMDB opens a MaxMind database file.
func OpenMMDB(path string) (*MMDB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geo database %s: %w", path, err)
	}
	return &MMDB{r: r}, nil
}

// Locate implements Locator. The region is the first subdivision's ISO
// code (e.g. "IDF"); the city is its English name.
func (m *MMDB) Locate(ip netip.Addr) token.Geo {
	var rec record
	if err := m.r.Lookup(ip.Unmap()).Decode(&rec); err != nil {
		return token.Geo{}
	}
	g := token.Geo{Country: rec.Country.ISOCode, City: rec.City.Names["en"]}
	if len(rec.Subdivisions) > 0 {
		g.Region = rec.Subdivisions[0].ISOCode
	}
	return g
}

// Close releases the database.
func (m *MMDB) Close() error { return m.r.Close() }

// ASNLocator finds the autonomous system (the network operator) of an
// address; 0 when unknown.
type ASNLocator interface {
	ASN(ip netip.Addr) uint32
}

// ASNDB is an ASNLocator over a MaxMind ASN database (GeoLite2-ASN, or
// any mmdb with autonomous_system_number records) held in memory.
type ASNDB struct {
	r *maxminddb.Reader
}

// OpenASN opens a MaxMind ASN database file.
func OpenASN(path string) (*ASNDB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ASN database %s: %w", path, err)
	}
	return &ASNDB{r: r}, nil
}

// ASN implements ASNLocator.
func (a *ASNDB) ASN(ip netip.Addr) uint32 {
	var rec struct {
		Number uint32 `maxminddb:"autonomous_system_number"`
	}
	if err := a.r.Lookup(ip.Unmap()).Decode(&rec); err != nil {
		return 0
	}
	return rec.Number
}

// Close releases the database.
func (a *ASNDB) Close() error { return a.r.Close() }

var _ ASNLocator = (*ASNDB)(nil)

// Interface guard.
var _ Locator = (*MMDB)(nil)
