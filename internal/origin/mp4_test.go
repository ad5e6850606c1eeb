package origin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"testing"

	"github.com/smd-media/smd/media"
)

// readMedia returns a file of the embedded clip.
func readMedia(t testing.TB, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(media.VOD(), name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseInitRealMedia(t *testing.T) {
	tests := []struct {
		file      string
		timescale uint32
		handler   string
	}{
		{"init-0.m4s", 12800, "vide"},
		{"init-1.m4s", 12800, "vide"},
		{"init-2.m4s", 32000, "soun"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			tracks, err := parseInit(readMedia(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(tracks) != 1 {
				t.Fatalf("%d tracks, want 1", len(tracks))
			}
			if tr := tracks[0]; tr.id != 1 || tr.timescale != tc.timescale || string(tr.handler[:]) != tc.handler {
				t.Errorf("track = %+v; want id 1, timescale %d, handler %s", tr, tc.timescale, tc.handler)
			}
		})
	}
}

func TestParseInit(t *testing.T) {
	good := mkInit(7, 90000, "vide", 3000)
	tests := []struct {
		name    string
		b       []byte
		want    track
		wantErr bool
	}{
		{name: "one track", b: good, want: track{id: 7, timescale: 90000, handler: bt("vide"), defaultDuration: 3000}},
		{name: "no moov", b: mkBox("ftyp", []byte("iso6")), wantErr: true},
		{name: "two moov", b: cat(good, mkBox("moov")), wantErr: true},
		{name: "moov without trak", b: mkBox("moov", mkBox("mvhd", fullb(0, 0))), wantErr: true},
		{name: "trak without mdhd", b: mkBox("moov", mkBox("trak",
			mkBox("tkhd", fullb(0, 0), u32b(0), u32b(0), u32b(1)))), wantErr: true},
		{name: "timescale 0", b: mkInit(1, 0, "vide", 0), wantErr: true},
		{name: "track id 0", b: mkInit(0, 1000, "vide", 0), wantErr: true},
		{name: "truncated tkhd", b: mkBox("moov", mkBox("trak", mkBox("tkhd", fullb(0, 0), u32b(0)))), wantErr: true},
		{name: "truncated file", b: good[:len(good)-3], wantErr: true},
		{name: "garbage", b: []byte("not an mp4 file at all"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tracks, err := parseInit(tc.b)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseInit = %+v; want an error", tracks)
				}
				return
			}
			if err != nil || len(tracks) != 1 || tracks[0] != tc.want {
				t.Fatalf("parseInit = %+v, %v; want [%+v]", tracks, err, tc.want)
			}
		})
	}
}

func TestParseFragmentRealMedia(t *testing.T) {
	tests := []struct {
		rep       string
		timescale uint32
		// durations of the 6 segments, in the track's timescale
		durations []uint64
	}{
		{"0", 12800, []uint64{25600, 25600, 25600, 25600, 25600, 25600}},
		{"1", 12800, []uint64{25600, 25600, 25600, 25600, 25600, 25600}},
		{"2", 32000, []uint64{64512, 63488, 64512, 63488, 64512, 63488}},
	}
	for _, tc := range tests {
		t.Run("rep "+tc.rep, func(t *testing.T) {
			tracks, err := parseInit(readMedia(t, "init-"+tc.rep+".m4s"))
			if err != nil {
				t.Fatal(err)
			}
			var start uint64
			for i, want := range tc.durations {
				name := fmt.Sprintf("seg-%s-%d.m4s", tc.rep, i+1)
				f, err := parseFragment(readMedia(t, name), tracks)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				tt, ok := f.trackTime(1)
				if !ok || tt.start != start || tt.duration != want {
					t.Errorf("%s: track time %+v; want start %d, duration %d", name, tt, start, want)
				}
				// ffmpeg writes a sidx (v1) and a tfdt (v1), and one mfhd.
				if len(f.times) != 2 || len(f.seqOffs) != 1 {
					t.Errorf("%s: %d times, %d sequence numbers; want 2 and 1", name, len(f.times), len(f.seqOffs))
				}
				for _, tf := range f.times {
					if !tf.wide || tf.value != start || tf.timescale != tc.timescale {
						t.Errorf("%s: time field %+v; want 64-bit %d in 1/%d s", name, tf, start, tc.timescale)
					}
				}
				start += want
			}
		})
	}
}

func TestParseFragment(t *testing.T) {
	tracks := []track{{id: 1, timescale: 1000, defaultDuration: 40}, {id: 2, timescale: 48000}}
	tests := []struct {
		name    string
		b       []byte
		tracks  []track
		want    []trackTime
		times   int
		wantErr bool
	}{
		{name: "tfhd default duration", tracks: tracks,
			b:    mkSegment(1, false, false, 0, trafSpec{id: 1, tfdt: 100, defDur: 20, count: 5}),
			want: []trackTime{{id: 1, start: 100, duration: 100, samples: 5}}, times: 1},
		{name: "trex default duration", tracks: tracks,
			b:    mkSegment(1, false, false, 0, trafSpec{id: 1, tfdt: 0, count: 3}),
			want: []trackTime{{id: 1, start: 0, duration: 120, samples: 3}}, times: 1},
		{name: "per-sample durations", tracks: tracks,
			b:    mkSegment(1, false, false, 0, trafSpec{id: 2, tfdt: 7, durations: []uint32{1024, 1024, 512}}),
			want: []trackTime{{id: 2, start: 7, duration: 2560, samples: 3}}, times: 1},
		{name: "two truns", tracks: tracks,
			b:    mkSegment(1, false, false, 0, trafSpec{id: 1, tfdt: 0, defDur: 10, count: 2, extraTruns: 1}),
			want: []trackTime{{id: 1, start: 0, duration: 40, samples: 4}}, times: 1},
		{name: "two tracks, sidx v0, tfdt v0", tracks: tracks,
			b: mkSegment(9, true, false, 5, trafSpec{id: 1, tfdt: 5, tfdtV0: true, count: 1},
				trafSpec{id: 2, tfdt: 240, durations: []uint32{48000}}),
			want:  []trackTime{{id: 1, start: 5, duration: 40, samples: 1}, {id: 2, start: 240, duration: 48000, samples: 1}},
			times: 3},
		{name: "tracks unknown", tracks: nil,
			b:    mkSegment(1, true, true, 0, trafSpec{id: 42, tfdt: 1, defDur: 1, count: 1}),
			want: []trackTime{{id: 42, start: 1, duration: 1, samples: 1}}, times: 2},
		{name: "two moofs of one track", tracks: tracks,
			b: cat(mkSegment(1, false, false, 0, trafSpec{id: 1, tfdt: 0, defDur: 10, count: 2}),
				mkSegment(2, false, false, 0, trafSpec{id: 1, tfdt: 20, defDur: 10, count: 2})),
			want: []trackTime{{id: 1, start: 0, duration: 40, samples: 4}}, times: 2},
		{name: "two moofs with a gap", tracks: tracks, wantErr: true,
			b: cat(mkSegment(1, false, false, 0, trafSpec{id: 1, tfdt: 0, defDur: 10, count: 2}),
				mkSegment(2, false, false, 0, trafSpec{id: 1, tfdt: 30, defDur: 10, count: 2}))},
		{name: "track not in init", tracks: tracks, wantErr: true,
			b: mkSegment(1, false, false, 0, trafSpec{id: 3, tfdt: 0, count: 1})},
		{name: "no tfdt", tracks: tracks, wantErr: true,
			b: mkSegment(1, false, false, 0, trafSpec{id: 1, noTfdt: true, count: 1})},
		{name: "no moof", tracks: tracks, wantErr: true, b: mkBox("styp", []byte("msdh"))},
		{name: "trun count beyond box", tracks: tracks, wantErr: true,
			b: mkBox("moof", mkBox("traf", mkBox("tfhd", fullb(0, 0), u32b(1)), mkBox("tfdt", fullb(1, 0), u64b(0)),
				mkBox("trun", fullb(0, 0x100), u32b(1000), u32b(1))))},
		{name: "trun before tfhd", tracks: tracks, wantErr: true,
			b: mkBox("moof", mkBox("traf", mkBox("trun", fullb(0, 0), u32b(1)), mkBox("tfhd", fullb(0, 0), u32b(1))))},
		{name: "tfdt before tfhd", tracks: tracks, wantErr: true,
			b: mkBox("moof", mkBox("traf", mkBox("tfdt", fullb(1, 0), u64b(0)), mkBox("tfhd", fullb(0, 0), u32b(1))))},
		{name: "two tfhd", tracks: tracks, wantErr: true,
			b: mkBox("moof", mkBox("traf", mkBox("tfhd", fullb(0, 0), u32b(1)), mkBox("tfhd", fullb(0, 0), u32b(1))))},
		{name: "traf without tfhd", tracks: tracks, wantErr: true, b: mkBox("moof", mkBox("traf"))},
		{name: "sidx timescale 0", tracks: tracks, wantErr: true,
			b: cat(mkBox("sidx", fullb(0, 0), u32b(1), u32b(0), u32b(0), u32b(0)), mkSegment(1, false, false, 0, trafSpec{id: 1, count: 1}))},
		{name: "truncated mfhd", tracks: tracks, wantErr: true, b: mkBox("moof", mkBox("mfhd", fullb(0, 0)))},
		{name: "truncated", tracks: tracks, wantErr: true,
			b: mkSegment(1, false, false, 0, trafSpec{id: 1, tfdt: 0, count: 1})[:60]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseFragment(tc.b, tc.tracks)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseFragment = %+v; want an error", f)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.tracks, tc.want) || len(f.times) != tc.times {
				t.Errorf("tracks %+v, %d times; want %+v, %d", f.tracks, len(f.times), tc.want, tc.times)
			}
		})
	}
}

// constShift shifts every timescale by d.
func constShift(d uint64) func(uint32) (uint64, error) {
	return func(uint32) (uint64, error) { return d, nil }
}

func TestRetime(t *testing.T) {
	tracks := []track{{id: 1, timescale: 1000}, {id: 2, timescale: 48000}}
	seg := mkSegment(3, true, false, 500, trafSpec{id: 1, tfdt: 500, tfdtV0: true, defDur: 10, count: 2},
		trafSpec{id: 2, tfdt: 24000, defDur: 1024, count: 2})
	f, err := parseFragment(seg, tracks)
	if err != nil {
		t.Fatal(err)
	}
	// Shift by 2 s in each field's timescale.
	twoSeconds := func(ts uint32) (uint64, error) { return 2 * uint64(ts), nil }
	out, err := f.retime(seg, 77, twoSeconds)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(seg) {
		t.Fatalf("length changed: %d -> %d", len(seg), len(out))
	}
	if binary.BigEndian.Uint32(seg[f.seqOffs[0]:]) != 3 {
		t.Error("retime changed its input")
	}
	g, err := parseFragment(out, tracks)
	if err != nil {
		t.Fatalf("retimed segment does not parse: %v", err)
	}
	if seq := binary.BigEndian.Uint32(out[g.seqOffs[0]:]); seq != 77 {
		t.Errorf("sequence number %d, want 77", seq)
	}
	wantTimes := []uint64{2500, 2500, 24000 + 96000} // sidx (1/1000), tfdt 1, tfdt 2
	for i, tf := range g.times {
		if tf.value != wantTimes[i] {
			t.Errorf("time %d = %d, want %d", i, tf.value, wantTimes[i])
		}
	}
	if g.tracks[0].duration != 20 || g.tracks[1].duration != 2048 {
		t.Errorf("durations changed: %+v", g.tracks)
	}
	// Nothing but the sequence number and the times changed.
	diff := 0
	for i := range seg {
		if seg[i] != out[i] {
			diff++
		}
	}
	if diff == 0 || diff > 4+4+4+8 {
		t.Errorf("%d bytes changed", diff)
	}

	t.Run("32-bit overflow", func(t *testing.T) {
		_, err := f.retime(seg, 1, constShift(math.MaxUint32))
		if !errors.Is(err, errOverflow) {
			t.Fatalf("err = %v, want errOverflow", err)
		}
	})
	t.Run("64-bit overflow", func(t *testing.T) {
		seg := mkSegment(1, false, false, 0, trafSpec{id: 2, tfdt: math.MaxUint64 - 1, count: 1})
		f, err := parseFragment(seg, tracks)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.retime(seg, 1, constShift(2)); !errors.Is(err, errOverflow) {
			t.Fatalf("err = %v, want errOverflow", err)
		}
	})
	t.Run("shift fails", func(t *testing.T) {
		bad := errors.New("no")
		_, err := f.retime(seg, 1, func(uint32) (uint64, error) { return 0, bad })
		if !errors.Is(err, bad) {
			t.Fatalf("err = %v, want the shift's error", err)
		}
	})
	t.Run("wrong bytes", func(t *testing.T) {
		if _, err := f.retime(seg[:20], 1, constShift(0)); !errors.Is(err, errMalformed) {
			t.Fatalf("err = %v, want errMalformed", err)
		}
	})
}

// TestRetimeRealMedia moves every real segment by 1000 loops of the clip
// and checks each time field, and that nothing else changed.
func TestRetimeRealMedia(t *testing.T) {
	const loops = 1000
	for _, rep := range []string{"0", "1", "2"} {
		tracks, err := parseInit(readMedia(t, "init-"+rep+".m4s"))
		if err != nil {
			t.Fatal(err)
		}
		for n := 1; n <= 6; n++ {
			name := fmt.Sprintf("seg-%s-%d.m4s", rep, n)
			seg := readMedia(t, name)
			f, err := parseFragment(seg, tracks)
			if err != nil {
				t.Fatal(err)
			}
			shift := func(ts uint32) (uint64, error) { return loops * 12 * uint64(ts), nil }
			out, err := f.retime(seg, 123456, shift)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			g, err := parseFragment(out, tracks)
			if err != nil {
				t.Fatalf("%s retimed: %v", name, err)
			}
			for i, tf := range g.times {
				want := f.times[i].value + loops*12*uint64(tf.timescale)
				if tf.value != want {
					t.Errorf("%s: time %d = %d, want %d", name, i, tf.value, want)
				}
			}
			if g.tracks[0].duration != f.tracks[0].duration {
				t.Errorf("%s: duration changed", name)
			}
			// Blank the fields and compare the rest.
			a, b := slices.Clone(seg), slices.Clone(out)
			for _, x := range [][]byte{a, b} {
				for _, at := range f.seqOffs {
					copy(x[at:at+4], make([]byte, 4))
				}
				for _, tf := range f.times {
					copy(x[tf.off:tf.off+8], make([]byte, 8))
				}
			}
			if !slices.Equal(a, b) {
				t.Errorf("%s: bytes other than the times and sequence number changed", name)
			}
		}
	}
}
