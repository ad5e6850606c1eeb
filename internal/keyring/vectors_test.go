package keyring

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// The key files in testdata hold the keys of the SMDE vectors
// (token/smde/testdata/smde-public.json), in both forms: the vectors' tokens
// are signed with the first key, and "secondary key accepted" with the
// second.
const (
	vectorPrimary   = "20269276_70676e43e91ae1bfce5b"
	vectorSecondary = "202655d3_c86d7a3a0f61d3c72706"
)

type vector struct {
	Name    string            `json:"name"`
	Keys    map[string]string `json:"keys"`
	Request struct {
		Method  string            `json:"method"`
		IP      string            `json:"ip"`
		Headers map[string]string `json:"headers"`
		Country string            `json:"country"`
		Region  string            `json:"region"`
		City    string            `json:"city"`
		Path    string            `json:"path"`
	} `json:"request"`
	Expect struct {
		Status int `json:"status"`
	} `json:"expect"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile("../../token/smde/testdata/smde-public.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return f.Vectors
}

// TestVectorKeys loads the vectors' keys from both key file forms and checks
// that every vector the SDK's tokens pass with passes with the loaded ring.
func TestVectorKeys(t *testing.T) {
	vectors := loadVectors(t)
	for _, tc := range []struct {
		file   string
		format Format
		signer string // "" when the caller must name it
	}{
		{"testdata/smde-vectors.json", FormatMap, ""},
		{"testdata/smde-vectors-secretsmanager.json", FormatSMDE, vectorPrimary},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r, err := Load(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != tc.format {
				t.Errorf("format %v, want %v", r.Format(), tc.format)
			}
			if got := r.IDs(); len(got) != 2 || got[0] != vectorPrimary || got[1] != vectorSecondary {
				t.Errorf("ids %q", got)
			}
			for _, v := range vectors {
				if len(v.Keys) != r.Len() {
					t.Fatalf("%s: %d keys, the file has %d", v.Name, len(v.Keys), r.Len())
				}
				for id, secret := range v.Keys {
					k := r.Lookup(id)
					if k == nil || string(k.Secret) != secret || len(k.Secret) != 128 {
						t.Fatalf("%s: key %q differs from the vector's", v.Name, id)
					}
				}
			}
			k, err := r.Signing("")
			if tc.signer == "" {
				if err == nil {
					t.Errorf("map of two keys has signing key %q", k.ID)
				}
			} else if err != nil || k.ID != tc.signer {
				t.Errorf("signing key %v, %v; want %q", k, err, tc.signer)
			}

			verifier := smde.NewVerifier(smde.Options{CacheEntries: -1})
			n := 0
			for _, v := range vectors {
				if v.Expect.Status != http.StatusOK {
					continue
				}
				n++
				h := http.Header{}
				for name, val := range v.Request.Headers {
					h.Set(name, val)
				}
				req := &token.Request{
					Method: v.Request.Method, Target: v.Request.Path, Header: h,
					IP:  netip.MustParseAddr(v.Request.IP),
					Geo: token.Geo{Country: v.Request.Country, Region: v.Request.Region, City: v.Request.City},
					Now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC),
				}
				if _, err := verifier.Verify(req, r); err != nil {
					t.Errorf("%s: %v", v.Name, err)
				}
			}
			if n < 10 {
				t.Errorf("only %d accepted vectors", n)
			}
		})
	}
}
