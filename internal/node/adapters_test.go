package node

import (
	"reflect"
	"testing"
	"time"

	"github.com/smd-media/smd/internal/control"
	"github.com/smd-media/smd/internal/revocation"
)

// TestRevocationConversion: the API's revocation and the store's entry
// have the same fields, and converting keeps every one.
func TestRevocationConversion(t *testing.T) {
	if a, b := reflect.TypeFor[control.Revocation]().NumField(), reflect.TypeFor[revocation.Entry]().NumField(); a != b {
		t.Fatalf("control.Revocation has %d fields, revocation.Entry %d: convert the new ones", a, b)
	}
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	e := revocation.Entry{SessionID: "s1", Type: revocation.TypeAuto, Reason: "r", Score: 1.5, By: "detector", RevokedAt: at,
		ExpiresAt: at.Add(time.Hour), Features: map[string]float64{"spread": 20}, Explanation: []string{"seen from 20 places"},
		Evidence: &revocation.Evidence{Addresses: []string{"192.0.2.1"}, Networks: []string{"192.0.2.0/24"}, Countries: []string{"DE"},
			UserAgents: []string{"ua"}, Renditions: []string{"/a/#.ts"}, From: at, To: at.Add(time.Second)}}
	v := reflect.ValueOf(e)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("the test leaves %s empty", v.Type().Field(i).Name)
		}
	}
	if got := toEntry(toRevocation(e)); !reflect.DeepEqual(got, e) {
		t.Errorf("round trip: %+v, want %+v", got, e)
	}
}
