package accessstream

import (
	"strconv"
	"testing"

	"github.com/smd-media/smd/internal/accesslog"
	"github.com/smd-media/smd/internal/natsstore"
)

func TestPartition(t *testing.T) {
	// The values must never change: publishers and consumers of
	// different versions share them.
	for _, tc := range []struct {
		session, request string
		want             int
	}{
		{"S1", "", 9},
		{"S1", "other", 9},
		{"", "r-1", 11},
		{"", "", 0},
		{"a", "", 12},
		{"session-0123456789", "", 9},
	} {
		if got := Partition(tc.session, tc.request); got != tc.want {
			t.Errorf("Partition(%q, %q) = %d, want %d", tc.session, tc.request, got, tc.want)
		}
	}
	counts := make([]int, natsstore.AccessPartitions)
	for i := range 16000 {
		counts[Partition("session-"+strconv.Itoa(i), "")]++
	}
	for p, n := range counts {
		if n < 800 || n > 1200 {
			t.Errorf("partition %d got %d of 16000 sessions", p, n)
		}
	}
	if Subject(7) != "smd.access.7" {
		t.Fatal(Subject(7))
	}
}

// TestPartitionOfBinaryRequestID: an event whose request id is in binary
// form goes to the partition its string form gives.
func TestPartitionOfBinaryRequestID(t *testing.T) {
	for _, seq := range []uint64{0, 1, 35, 36, 1 << 20, 1<<64 - 1} {
		for _, prefix := range []string{"m1abc-", "x"} {
			e := &accesslog.Event{RequestPrefix: prefix, RequestSeq: seq}
			if got, want := partitionOf(e), Partition("", e.ID()); got != want {
				t.Errorf("%s: partition %d, want %d", e.ID(), got, want)
			}
			e.SessionID = "S1"
			if got := partitionOf(e); got != Partition("S1", "") {
				t.Errorf("%s with a session: partition %d", e.ID(), got)
			}
		}
	}
}
