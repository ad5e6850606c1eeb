package origin

import (
	"testing"
	"time"
)

func TestTimeline(t *testing.T) {
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tl := timeline{epoch: epoch, segDur: 2 * time.Second, count: 6, window: 5}
	at := func(d time.Duration) time.Time { return epoch.Add(d) }
	tests := []struct {
		name        string
		now         time.Time
		latest      uint64
		first, last uint64
		ok          bool
	}{
		{"before the epoch", at(-time.Hour), 0, 0, 0, false},
		{"at the epoch", epoch, 0, 0, 0, false},
		{"first segment not complete", at(1999 * time.Millisecond), 0, 0, 0, false},
		{"first segment complete", at(2 * time.Second), 1, 1, 1, true},
		{"window filling", at(9 * time.Second), 4, 1, 4, true},
		{"window full", at(10 * time.Second), 5, 1, 5, true},
		{"window sliding", at(12*time.Second + time.Nanosecond), 6, 2, 6, true},
		{"a year on", at(365 * 24 * time.Hour), 15768000, 15767996, 15768000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tl.latest(tc.now); got != tc.latest {
				t.Errorf("latest = %d, want %d", got, tc.latest)
			}
			first, last, ok := tl.span(tc.now)
			if first != tc.first || last != tc.last || ok != tc.ok {
				t.Errorf("span = %d, %d, %v; want %d, %d, %v", first, last, ok, tc.first, tc.last, tc.ok)
			}
		})
	}
}

func TestTimelineAvailable(t *testing.T) {
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	tl := timeline{epoch: epoch, segDur: 2 * time.Second, count: 6, window: 5}
	now := epoch.Add(100 * time.Second) // latest 50, playlists list 46..50
	for n, want := range map[uint64]bool{
		0: false, 1: false, 40: false,
		41: true, 45: true, 46: true, 50: true, // in the window, or left it less than a window ago
		51: false, 1 << 40: false,
	} {
		if got := tl.available(n, now); got != want {
			t.Errorf("available(%d) = %v, want %v", n, got, want)
		}
	}
	if got := tl.availableAt(50); !got.Equal(epoch.Add(100 * time.Second)) {
		t.Errorf("availableAt(50) = %v", got)
	}
}

func TestTimelinePosition(t *testing.T) {
	tl := timeline{segDur: 2 * time.Second, count: 6, window: 5}
	tests := []struct {
		n     uint64
		index int
		loops uint64
	}{
		{1, 0, 0}, {6, 5, 0}, {7, 0, 1}, {12, 5, 1}, {13, 0, 2}, {6000001, 0, 1000000},
	}
	for _, tc := range tests {
		if index, loops := tl.position(tc.n); index != tc.index || loops != tc.loops {
			t.Errorf("position(%d) = %d, %d; want %d, %d", tc.n, index, loops, tc.index, tc.loops)
		}
	}
}
