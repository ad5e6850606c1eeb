package cache

import "testing"

func TestParseRange(t *testing.T) {
	const size = 1000
	tests := []struct {
		header string
		out    rangeOutcome
		want   byteRange
	}{
		{header: "", out: rangeWhole},
		{header: "bytes=0-99", out: rangePart, want: byteRange{0, 100}},
		{header: "bytes=10-10", out: rangePart, want: byteRange{10, 11}},
		{header: "bytes=990-", out: rangePart, want: byteRange{990, 1000}},
		{header: "bytes=0-", out: rangePart, want: byteRange{0, 1000}},
		{header: "bytes=-10", out: rangePart, want: byteRange{990, 1000}},
		{header: "bytes=-5000", out: rangePart, want: byteRange{0, 1000}},
		{header: "bytes=900-5000", out: rangePart, want: byteRange{900, 1000}},
		{header: "Bytes = 1-2", out: rangePart, want: byteRange{1, 3}},
		{header: "bytes= 3-4 ", out: rangePart, want: byteRange{3, 5}},
		{header: "bytes=1000-", out: rangeUnsatisfiable},
		{header: "bytes=1000-2000", out: rangeUnsatisfiable},
		{header: "bytes=-0", out: rangeUnsatisfiable},
		{header: "bytes=5-4", out: rangeWhole},
		{header: "bytes=0-1,5-6", out: rangeWhole},
		{header: "bytes=a-b", out: rangeWhole},
		{header: "bytes=-", out: rangeWhole},
		{header: "bytes=+1-2", out: rangeWhole},
		{header: "bytes=1--2", out: rangeWhole},
		{header: "items=0-1", out: rangeWhole},
		{header: "bytes 0-1", out: rangeWhole},
		{header: "bytes=99999999999999999999-", out: rangeWhole},
	}
	for _, tc := range tests {
		t.Run(tc.header, func(t *testing.T) {
			out, got := rangeWhole, byteRange{}
			if spec, ok := parseRangeSpec(tc.header); ok {
				got, out = spec.resolve(size)
			}
			if out != tc.out || (out == rangePart && got != tc.want) {
				t.Errorf("range %q = %v %+v; want %v %+v", tc.header, out, got, tc.out, tc.want)
			}
		})
	}
}

func TestParseRangeEmptyBody(t *testing.T) {
	for _, h := range []string{"bytes=0-", "bytes=-1", "bytes=0-0"} {
		spec, ok := parseRangeSpec(h)
		if !ok {
			t.Fatalf("%q did not parse", h)
		}
		if _, out := spec.resolve(0); out != rangeUnsatisfiable {
			t.Errorf("%q of an empty body = %v; want unsatisfiable", h, out)
		}
	}
}

func TestContentRange(t *testing.T) {
	if got, want := (byteRange{5, 10}).contentRange(100), "bytes 5-9/100"; got != want {
		t.Errorf("contentRange = %q; want %q", got, want)
	}
}

func FuzzParseRange(f *testing.F) {
	for _, h := range []string{"bytes=0-99", "bytes=-10", "bytes=5-", "bytes=0-1,2-3", "bytes=-0", "bytes=9223372036854775807-"} {
		f.Add(h, int64(1000))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		spec, ok := parseRangeSpec(h)
		if !ok {
			return
		}
		r, out := spec.resolve(size)
		if out == rangePart && (r.start < 0 || r.start >= r.end || r.end > size) {
			t.Fatalf("range %q of %d = %+v", h, size, r)
		}
	})
}
