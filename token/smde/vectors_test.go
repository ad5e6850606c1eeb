package smde

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/smd-media/smd/token"
)

// vectorFile mirrors testdata/smde-public.json, made with SMDE's SDK.
type vectorFile struct {
	Vectors []struct {
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
			Status      int    `json:"status"`
			StatusAnyOf []int  `json:"status_any_of"`
			OriginPath  string `json:"origin_path"`
			SessionID   string `json:"session_id"`
		} `json:"expect"`
	} `json:"vectors"`
}

// vectorNow is within the vectors' "any time between 2025 and 2099".
var vectorNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestSMDEVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/smde-public.json")
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) < 41 {
		t.Fatalf("only %d vectors", len(f.Vectors))
	}
	for _, cache := range []int{-1, 0} {
		v := NewVerifier(Options{CacheEntries: cache})
		for _, tc := range f.Vectors {
			t.Run(tc.Name, func(t *testing.T) {
				h := http.Header{}
				for k, val := range tc.Request.Headers {
					h.Set(k, val)
				}
				req := &token.Request{
					Method: tc.Request.Method,
					Target: tc.Request.Path,
					Header: h,
					IP:     netip.MustParseAddr(tc.Request.IP),
					Geo:    token.Geo{Country: tc.Request.Country, Region: tc.Request.Region, City: tc.Request.City},
					Now:    vectorNow,
				}
				// Twice: the second run goes through the cache.
				for i := 0; i < 2; i++ {
					g, err := v.Verify(req, token.NewKeys(tc.Keys))
					status := 200
					if err != nil {
						status = token.ReasonOf(err).Status()
					}
					want := tc.Expect.StatusAnyOf
					if tc.Expect.Status != 0 {
						want = []int{tc.Expect.Status}
					}
					ok := false
					for _, s := range want {
						ok = ok || s == status
					}
					if !ok {
						t.Fatalf("status %d (%v), want %v", status, err, want)
					}
					if status != 200 {
						continue
					}
					if g.OriginPath != tc.Expect.OriginPath {
						t.Errorf("origin path %q, want %q", g.OriginPath, tc.Expect.OriginPath)
					}
					if g.SessionID != tc.Expect.SessionID {
						t.Errorf("session id %q, want %q", g.SessionID, tc.Expect.SessionID)
					}
				}
			})
		}
	}
}
