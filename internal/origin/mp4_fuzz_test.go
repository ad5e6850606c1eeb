package origin

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"testing"

	"github.com/smd-media/smd/media"
)

// fuzzTracks are the tracks FuzzParseFragment parses against, besides nil.
var fuzzTracks = []track{{id: 1, timescale: 12800}, {id: 2, timescale: 32000, defaultDuration: 1024}}

// seedFragments adds the clip's real segments, with their mdat cut short
// (the fuzzer crawls on inputs of 100 kB), and the synthetic segments of the
// table tests.
func seedFragments(f *testing.F) {
	for _, name := range []string{"seg-0-1.m4s", "seg-1-6.m4s", "seg-2-1.m4s", "seg-2-2.m4s"} {
		b, err := fs.ReadFile(media.VOD(), name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(shortMdat(f, b, 16), uint64(1000))
	}
	f.Add(mkSegment(9, true, false, 5, trafSpec{id: 1, tfdt: 5, tfdtV0: true, count: 1},
		trafSpec{id: 2, tfdt: 240, durations: []uint32{48000}}), uint64(1))
	f.Add(mkSegment(1, true, true, 0, trafSpec{id: 2, tfdt: 1, defDur: 1, count: 1, extraTruns: 2}), uint64(1<<40))
	f.Add(cat(u32b(1), []byte("moof"), u64b(16)), uint64(0))
	f.Add([]byte{}, uint64(0))
}

// shortMdat returns seg with every mdat cut to at most n bytes of payload.
func shortMdat(t testing.TB, seg []byte, n int) []byte {
	t.Helper()
	var out []byte
	err := eachBox(seg, 0, len(seg), func(bx box) error {
		if bx.typ != bt("mdat") || bx.end-bx.body <= n {
			out = append(out, seg[bx.start:bx.end]...)
			return nil
		}
		out = append(out, mkBox("mdat", seg[bx.body:bx.body+n])...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzParseFragment: parseFragment never panics; what it accepts, retime
// moves exactly, or refuses with errOverflow, and the result parses again
// with the same layout.
func FuzzParseFragment(f *testing.F) {
	seedFragments(f)
	f.Fuzz(func(t *testing.T, b []byte, shift uint64) {
		for _, tracks := range [][]track{nil, fuzzTracks} {
			frag, err := parseFragment(b, tracks)
			if err != nil {
				if !errors.Is(err, errMalformed) {
					t.Fatalf("error not errMalformed: %v", err)
				}
				continue
			}
			out, err := frag.retime(b, 0xDEADBEEF, constShift(shift))
			if err != nil {
				if !errors.Is(err, errOverflow) {
					t.Fatalf("retime: %v", err)
				}
				continue
			}
			again, err := parseFragment(out, tracks)
			if err != nil {
				t.Fatalf("retimed segment does not parse: %v", err)
			}
			if len(again.times) != len(frag.times) || len(again.seqOffs) != len(frag.seqOffs) {
				t.Fatalf("layout changed")
			}
			for i, tf := range again.times {
				if tf.off != frag.times[i].off || tf.value != frag.times[i].value+shift {
					t.Fatalf("time %d: %+v, was %+v, shift %d", i, tf, frag.times[i], shift)
				}
			}
			for _, at := range again.seqOffs {
				if binary.BigEndian.Uint32(out[at:]) != 0xDEADBEEF {
					t.Fatalf("sequence number at %d not set", at)
				}
			}
		}
	})
}

// FuzzParseInit: parseInit never panics, and what it returns is usable.
func FuzzParseInit(f *testing.F) {
	for _, rep := range []string{"0", "2"} {
		b, err := fs.ReadFile(media.VOD(), "init-"+rep+".m4s")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(mkInit(7, 90000, "vide", 3000))
	f.Add(mkBox("moov", mkBox("trak", mkBox("tkhd", fullb(1, 0), u64b(0), u64b(0), u32b(1)))))
	f.Fuzz(func(t *testing.T, b []byte) {
		tracks, err := parseInit(b)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("error not errMalformed: %v", err)
			}
			return
		}
		if len(tracks) == 0 {
			t.Fatal("no track and no error")
		}
		for _, tr := range tracks {
			if tr.id == 0 || tr.timescale == 0 {
				t.Fatalf("track %+v accepted", tr)
			}
		}
	})
}
