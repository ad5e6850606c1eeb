package origin

import (
	"testing"
	"time"
)

func TestExpandTemplate(t *testing.T) {
	tests := []struct {
		tmpl, id string
		want     segmentName
		wantErr  bool
	}{
		{tmpl: "seg-$RepresentationID$-$Number$.m4s", id: "v1", want: segmentName{prefix: "seg-v1-", suffix: ".m4s", numbered: true}},
		{tmpl: "init-$RepresentationID$.m4s", id: "2", want: segmentName{prefix: "init-2.m4s"}},
		{tmpl: "$Number$", id: "x", want: segmentName{numbered: true}},
		{tmpl: "a$$b-$Number$", id: "x", want: segmentName{prefix: "a$b-", numbered: true}},
		{tmpl: "plain.mp4", id: "x", want: segmentName{prefix: "plain.mp4"}},
		{tmpl: "$Number$-$Number$", id: "x", wantErr: true},
		{tmpl: "$Time$.m4s", id: "x", wantErr: true},
		{tmpl: "$Number%05d$.m4s", id: "x", wantErr: true},
		{tmpl: "seg-$Number.m4s", id: "x", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.tmpl, func(t *testing.T) {
			got, err := expandTemplate(tc.tmpl, tc.id)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("expandTemplate = %+v; want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("expandTemplate = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestSegmentNameNumber(t *testing.T) {
	n := segmentName{prefix: "seg-0-", suffix: ".m4s", numbered: true}
	tests := []struct {
		name string
		num  uint64
		ok   bool
	}{
		{"seg-0-1.m4s", 1, true},
		{"seg-0-45646141.m4s", 45646141, true},
		{"seg-0-0.m4s", 0, true},
		{"seg-0-18446744073709551615.m4s", 1<<64 - 1, true},
		{"seg-0-18446744073709551616.m4s", 0, false}, // overflows
		{"seg-0-01.m4s", 0, false},                   // one name per number
		{"seg-0-.m4s", 0, false},
		{"seg-0-1a.m4s", 0, false},
		{"seg-0--1.m4s", 0, false},
		{"seg-0-+1.m4s", 0, false},
		{"seg-1-1.m4s", 0, false},
		{"seg-0-1.mp4", 0, false},
		{"seg-0-1.m4s.m4s", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		num, ok := n.number(tc.name)
		if num != tc.num || ok != tc.ok {
			t.Errorf("number(%q) = %d, %v; want %d, %v", tc.name, num, ok, tc.num, tc.ok)
		}
		if ok {
			if back := n.name(num); back != tc.name {
				t.Errorf("name(%d) = %q, want %q", num, back, tc.name)
			}
		}
	}
	if _, ok := (segmentName{prefix: "init.mp4"}).number("init.mp4"); ok {
		t.Error("an unnumbered name has no number")
	}
}

func TestSegmentDuration(t *testing.T) {
	tests := []struct {
		timescale, duration string
		want                time.Duration
		wantErr             bool
	}{
		{"1000000", "2000000", 2 * time.Second, false},
		{"", "4", 4 * time.Second, false},
		{"90000", "180000", 2 * time.Second, false},
		{"3", "1", 0, true}, // a third of a second
		{"0", "1", 0, true},
		{"1000", "0", 0, true},
		{"1000", "", 0, true},
		{"x", "1", 0, true},
	}
	for _, tc := range tests {
		got, err := mpdSegmentTemplate{Timescale: tc.timescale, Duration: tc.duration}.segmentDuration()
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("segmentDuration(%s/%s) = %v, %v; want %v, error %v", tc.duration, tc.timescale, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestISODuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		2 * time.Second:         "PT2S",
		10 * time.Second:        "PT10S",
		500 * time.Millisecond:  "PT0.5S",
		3840 * time.Millisecond: "PT3.84S",
	} {
		if got := isoDuration(d); got != want {
			t.Errorf("isoDuration(%v) = %s, want %s", d, got, want)
		}
	}
}
