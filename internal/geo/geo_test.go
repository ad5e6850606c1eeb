package geo

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/smd-media/smd/token"
)

// writeTestDB writes a small City-layout database, as MaxMind's look.
func writeTestDB(t *testing.T) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", RecordSize: 24, IPVersion: 6, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	add := func(cidr, country, region, city string) {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(country)}}
		if region != "" {
			rec["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(region)}}
		}
		if city != "" {
			rec["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(city)}}
		}
		if err := w.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	add("198.51.100.0/24", "FR", "IDF", "Paris")
	add("203.0.113.0/24", "DE", "", "")
	add("2001:db8::/32", "JP", "13", "Tokyo")
	p := filepath.Join(t.TempDir(), "test.mmdb")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMMDB(t *testing.T) {
	db, err := OpenMMDB(writeTestDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tests := []struct {
		ip   string
		want token.Geo
	}{
		{"198.51.100.10", token.Geo{Country: "FR", Region: "IDF", City: "Paris"}},
		{"::ffff:198.51.100.10", token.Geo{Country: "FR", Region: "IDF", City: "Paris"}},
		{"203.0.113.5", token.Geo{Country: "DE"}},
		{"2001:db8::1:5", token.Geo{Country: "JP", Region: "13", City: "Tokyo"}},
		{"192.0.2.1", token.Geo{}},
	}
	for _, tc := range tests {
		if got := db.Locate(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.ip, got, tc.want)
		}
	}
}

func TestOpenMMDBErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.mmdb")
	os.WriteFile(p, []byte("not a database"), 0o600)
	for _, path := range []string{p, filepath.Join(t.TempDir(), "missing.mmdb")} {
		if _, err := OpenMMDB(path); err == nil {
			t.Errorf("%s opened", path)
		}
	}
}

// writeASNDB writes a small database in GeoLite2-ASN's layout.
func writeASNDB(t *testing.T) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-ASN", RecordSize: 24, IPVersion: 6, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, asn := range map[string]uint32{"198.51.100.0/24": 64500, "2001:db8::/32": 4200000001} {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(asn),
			"autonomous_system_organization": mmdbtype.String("Example Networks")}
		if err := w.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), "asn.mmdb")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestASNDB(t *testing.T) {
	db, err := OpenASN(writeASNDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for ip, want := range map[string]uint32{"198.51.100.10": 64500, "::ffff:198.51.100.10": 64500, "2001:db8::7": 4200000001, "192.0.2.1": 0} {
		if got := db.ASN(netip.MustParseAddr(ip)); got != want {
			t.Errorf("%s: AS%d, want AS%d", ip, got, want)
		}
	}
	if _, err := OpenASN(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("a missing file opened")
	}
}
