package origin

import (
	"errors"
	"testing"
)

func TestReadBox(t *testing.T) {
	tests := []struct {
		name     string
		b        []byte
		off, end int // end -1: len(b)
		want     box
		wantErr  bool
	}{
		{name: "plain", b: mkBox("free", []byte{1, 2}), end: -1,
			want: box{typ: bt("free"), start: 0, body: 8, end: 10}},
		{name: "empty payload", b: mkBox("free"), end: -1,
			want: box{typ: bt("free"), start: 0, body: 8, end: 8}},
		{name: "size 0 to end of container", b: cat(u32b(0), []byte("mdat"), make([]byte, 5)), end: -1,
			want: box{typ: bt("mdat"), start: 0, body: 8, end: 13}},
		{name: "64-bit size", b: cat(u32b(1), []byte("mdat"), u64b(20), make([]byte, 4)), end: -1,
			want: box{typ: bt("mdat"), start: 0, body: 16, end: 20}},
		{name: "uuid", b: cat(u32b(26), []byte("uuid"), make([]byte, 16), []byte{1, 2}), end: -1,
			want: box{typ: bt("uuid"), start: 0, body: 24, end: 26}},
		{name: "at an offset", b: cat(mkBox("free"), mkBox("skip", []byte{9})), off: 8, end: -1,
			want: box{typ: bt("skip"), start: 8, body: 16, end: 17}},
		{name: "size past container", b: cat(u32b(12), []byte("free")), end: -1, wantErr: true},
		{name: "size past end given", b: mkBox("free", make([]byte, 4)), end: 10, wantErr: true},
		{name: "size below header", b: cat(u32b(7), []byte("free")), end: -1, wantErr: true},
		{name: "64-bit size below header", b: cat(u32b(1), []byte("mdat"), u64b(15)), end: -1, wantErr: true},
		{name: "64-bit size huge", b: cat(u32b(1), []byte("mdat"), u64b(1<<63)), end: -1, wantErr: true},
		{name: "64-bit size truncated", b: cat(u32b(1), []byte("mdat"), u32b(0)), end: -1, wantErr: true},
		{name: "uuid truncated", b: cat(u32b(12), []byte("uuid"), u32b(0)), end: -1, wantErr: true},
		{name: "header truncated", b: []byte{0, 0, 0, 8, 'f'}, end: -1, wantErr: true},
		{name: "empty", b: nil, end: -1, wantErr: true},
		{name: "negative offset", b: mkBox("free"), off: -1, end: -1, wantErr: true},
		{name: "offset past end", b: mkBox("free"), off: 9, end: -1, wantErr: true},
		{name: "end past slice", b: mkBox("free"), end: 9, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			end := tc.end
			if end < 0 {
				end = len(tc.b)
			}
			got, err := readBox(tc.b, tc.off, end)
			if tc.wantErr {
				if !errors.Is(err, errMalformed) {
					t.Fatalf("readBox = %+v, %v; want an errMalformed", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("readBox = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestEachBox(t *testing.T) {
	b := cat(mkBox("styp"), mkBox("moof", mkBox("mfhd", u32b(0), u32b(1))), mkBox("mdat", []byte{1}))
	var types []string
	if err := eachBox(b, 0, len(b), func(bx box) error {
		types = append(types, string(bx.typ[:]))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := len(types); got != 3 || types[0] != "styp" || types[1] != "moof" || types[2] != "mdat" {
		t.Errorf("types = %q", types)
	}

	stop := errors.New("stop")
	calls := 0
	err := eachBox(b, 0, len(b), func(box) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("eachBox = %v after %d calls; want stop after 1", err, calls)
	}
	if err := eachBox(append(b, 0, 0, 0), 0, len(b)+3, func(box) error { return nil }); !errors.Is(err, errMalformed) {
		t.Errorf("trailing garbage: %v; want errMalformed", err)
	}
}

func TestCursor(t *testing.T) {
	b := mkBox("test", u32b(0x01000002), u16b(3), u64b(4), []byte{5})
	bx, err := readBox(b, 0, len(b))
	if err != nil {
		t.Fatal(err)
	}
	c := payload(b, bx)
	v, flags := c.fullHeader()
	if v != 1 || flags != 2 || c.u16() != 3 || c.u64() != 4 || c.u8() != 5 || c.err != nil || c.left() != 0 {
		t.Fatalf("reads: v=%d flags=%d err=%v left=%d", v, flags, c.err, c.left())
	}
	if c.u32() != 0 || !errors.Is(c.err, errMalformed) {
		t.Fatalf("read past end: err %v", c.err)
	}
	if c.u8() != 0 || c.take(0) != -1 {
		t.Error("reads after an error must return zero")
	}
	c = payload(b, bx)
	if c.take(-1) != -1 || c.err == nil {
		t.Error("take(-1) must fail")
	}
}
