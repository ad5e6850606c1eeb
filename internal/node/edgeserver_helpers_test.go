package node_test

import (
	"strings"
	"testing"
	"time"

	"github.com/smd-media/smd/token"
	"github.com/smd-media/smd/token/smde"
)

// The edge server tests' key and clock (as internal/edge's pipeline tests).
var (
	testNow  = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	testKey  = &token.Key{ID: "k1", Secret: []byte(strings.Repeat("9a", 64))}
	testKeys = token.Keys{"k1": testKey}
)

// signFor signs a token for the policy and viewer at testNow (tests
// against the real clock give an Expiry of farFuture).
func signFor(t testing.TB, p smde.Policy, v smde.Viewer) string {
	t.Helper()
	if p.Expiry == "" {
		p.Expiry = "+1h"
	}
	s := &smde.Signer{Key: testKey, Now: func() time.Time { return testNow }}
	tok, err := s.Sign(&p, &v)
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}
