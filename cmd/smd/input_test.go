package main

import (
	"strings"
	"testing"
	"time"
)

// In-process tests of the input helpers; the commands are tested through
// the binary.

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{1400 * time.Millisecond, "1s"},
		{59 * time.Second, "59s"},
		{3 * time.Minute, "3m"},
		{3*time.Minute + 29*time.Second, "3m"},
		{2 * time.Hour, "2h0m"},
		{2*time.Hour + 31*time.Second, "2h1m"},
		{47*time.Hour + 59*time.Minute, "47h59m"},
		{48 * time.Hour, "2d0h"},
		{30*24*time.Hour + 4*time.Hour + 20*time.Minute, "30d4h"},
	}
	for _, tc := range tests {
		if got := humanDuration(tc.d); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestRelative(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		t      time.Time
		expiry bool
		want   string
	}{
		{now.Add(2 * time.Hour), true, "in 2h0m"},
		{now.Add(-3 * time.Minute), true, "expired 3m ago"},
		{now, true, "expired 0s ago"},
		{now.Add(-3 * time.Minute), false, "3m ago"},
		{now.Add(10 * time.Second), false, "in 10s"},
		{now, false, "now"},
	}
	for _, tc := range tests {
		if got := relative(tc.t, now, tc.expiry); got != tc.want {
			t.Errorf("%v (expiry %v): %q, want %q", tc.t.Sub(now), tc.expiry, got, tc.want)
		}
	}
}

func TestParseHeaderLine(t *testing.T) {
	tests := []struct {
		in, name, value string
		ok              bool
	}{
		{"User-Agent: Player/1.0 (X11, Linux)", "User-Agent", "Player/1.0 (X11, Linux)", true},
		{"referer:https://a.example/b:c", "Referer", "https://a.example/b:c", true},
		{"X-Empty:", "X-Empty", "", true},
		{"  x-a  :  v \t", "X-A", "v", true},
		{"NoColon", "", "", false},
		{": value", "", "", false},
		{"Bad Name: v", "", "", false},
		{"Bad(Name): v", "", "", false},
	}
	for _, tc := range tests {
		name, value, err := parseHeaderLine(tc.in)
		if (err == nil) != tc.ok || name != tc.name || value != tc.value {
			t.Errorf("%q: %q %q %v", tc.in, name, value, err)
		}
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // unix; 0 for an error, -1 for relative
	}{
		{"1800000000", 1_800_000_000},
		{"0", 0},
		{"2027-01-15T08:00:00Z", 1800000000},
		{"2027-01-15T10:00:00+02:00", 1800000000},
		{"+3h", -1},
		{"-90s", -1},
		{"2027-01-15", 0},
		{"-5", 0},
		{"1e9", 0},
		{"99999999999999", 0},
		{"+3x", 0},
	}
	for _, tc := range tests {
		got, err := parseTime("--now", tc.in)
		switch {
		case tc.want == 0 && tc.in != "0":
			if err == nil || !strings.HasPrefix(err.Error(), "--now: ") {
				t.Errorf("%q: %v, %v; want an error", tc.in, got, err)
			}
		case tc.want == -1:
			if err != nil || got.Sub(time.Now()).Abs() > 4*time.Hour {
				t.Errorf("%q: %v, %v", tc.in, got, err)
			}
		case err != nil || got.Unix() != tc.want:
			t.Errorf("%q: %v, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	if got, err := parseTime("--now", ""); err != nil || time.Since(got) > time.Minute {
		t.Errorf("empty: %v, %v", got, err)
	}
}

func TestRequestTarget(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"https://cdn.example.com/tok.en.x/vod/m1/index.m3u8", "/tok.en.x/vod/m1/index.m3u8"},
		{"http://127.0.0.1:8080/t/vod/a%2e%2e/b?user=u+42&x=%20#frag", "/t/vod/a%2e%2e/b?user=u+42&x=%20"},
		{"https://cdn.example.com/t/vod/m1/../m2/x", "/t/vod/m1/../m2/x"},
		{"/t/vod/x?q=1", "/t/vod/x?q=1"},
		{"https://cdn.example.com", "/"},
		{"cdn.example.com/t/x", ""},
		{"ftp://cdn.example.com/t/x", ""},
		{"//cdn.example.com/t/x", ""},
		{"https://cdn.example.com/%zz", ""},
	}
	for _, tc := range tests {
		got, err := requestTarget(tc.in)
		if (err == nil) != (tc.want != "") || got != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestTokenSegment(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"https://cdn.example.com/s1.a.b.c/vod/x?q=1", "s1.a.b.c"},
		{"https://cdn.example.com/a.b.c?q=1", "a.b.c"},
		{"/a.b.c/vod/x", "a.b.c"},
		{"a.b.c", "a.b.c"},
		{"  a.b.c\n", "a.b.c"},
		{"a.b.c/vod/x", "a.b.c"},
		{"", ""},
		{"/", ""},
		{"https://cdn.example.com/", ""},
	}
	for _, tc := range tests {
		got, err := tokenSegment(tc.in)
		if (err == nil) != (tc.want != "") || got != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestCleanMessage(t *testing.T) {
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2lnbmF0dXJlc2ln"
	tests := []struct {
		in, want string
	}{
		{"plain message", "plain message"},
		{"two\nlines\r\n", "two lines"},
		{`unknown command "` + jwt + `"`, `unknown command "<token>"`},
		{`unknown command "Sess1on_1.` + jwt + `"`, `unknown command "<token>"`},
		{"key file keys.json: bad", "key file keys.json: bad"},
		{"https://cdn.example.com/" + jwt + "/vod", "https://cdn.example.com/<token>/vod"},
	}
	for _, tc := range tests {
		if got := cleanMessage(tc.in); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.in, got, tc.want)
		}
	}
}
