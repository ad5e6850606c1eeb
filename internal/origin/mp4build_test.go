package origin

import "encoding/binary"

// Builders of synthetic MP4 boxes for tests.

func u16b(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32b(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64b(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// fullb is the version and flags of a full box.
func fullb(version uint8, flags uint32) []byte { return u32b(uint32(version)<<24 | flags) }

// mkBox makes a box of type typ around the concatenated parts.
func mkBox(typ string, parts ...[]byte) []byte {
	var body []byte
	for _, p := range parts {
		body = append(body, p...)
	}
	b := u32b(uint32(8 + len(body)))
	b = append(b, typ...)
	return append(b, body...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// mkInit makes an initialization segment with one track.
func mkInit(id, timescale uint32, handler string, trexDuration uint32) []byte {
	return cat(
		mkBox("ftyp", []byte("iso6"), u32b(0)),
		mkBox("moov",
			mkBox("mvhd", fullb(0, 0), make([]byte, 96)),
			mkBox("trak",
				mkBox("tkhd", fullb(0, 3), u32b(0), u32b(0), u32b(id), make([]byte, 68)),
				mkBox("mdia",
					mkBox("mdhd", fullb(0, 0), u32b(0), u32b(0), u32b(timescale), u32b(0), u32b(0)),
					mkBox("hdlr", fullb(0, 0), u32b(0), []byte(handler), make([]byte, 13)),
				),
			),
			mkBox("mvex", mkBox("trex", fullb(0, 0), u32b(id), u32b(1), u32b(trexDuration), u32b(0), u32b(0))),
		),
	)
}

// trafSpec describes one track fragment of mkSegment.
type trafSpec struct {
	id         uint32
	tfdt       uint64
	tfdtV0     bool
	defDur     uint32   // tfhd default_sample_duration, 0 for none
	durations  []uint32 // per-sample durations; nil: count samples of defDur
	count      uint32
	noTfdt     bool
	extraTruns int // more truns of count default-duration samples
}

func mkTraf(t trafSpec) []byte {
	flags := uint32(0x020000) // default-base-is-moof
	tfhd := [][]byte{nil, u32b(t.id)}
	if t.defDur != 0 {
		flags |= 0x08
		tfhd = append(tfhd, u32b(t.defDur))
	}
	tfhd[0] = fullb(0, flags)
	parts := [][]byte{mkBox("tfhd", tfhd...)}
	if !t.noTfdt {
		if t.tfdtV0 {
			parts = append(parts, mkBox("tfdt", fullb(0, 0), u32b(uint32(t.tfdt))))
		} else {
			parts = append(parts, mkBox("tfdt", fullb(1, 0), u64b(t.tfdt)))
		}
	}
	if t.durations != nil {
		trun := [][]byte{fullb(0, 0x001|0x100|0x200), u32b(uint32(len(t.durations))), u32b(0)}
		for _, d := range t.durations {
			trun = append(trun, u32b(d), u32b(10))
		}
		parts = append(parts, mkBox("trun", trun...))
	} else {
		parts = append(parts, mkBox("trun", fullb(0, 0x001|0x200), u32b(t.count), u32b(0), make([]byte, 4*t.count)))
	}
	for range t.extraTruns {
		parts = append(parts, mkBox("trun", fullb(0, 0), u32b(t.count)))
	}
	return mkBox("traf", parts...)
}

// mkSegment makes a media segment: styp, an optional sidx (v1 when sidxV1),
// one moof with the given track fragments, and an mdat.
func mkSegment(seq uint32, sidx bool, sidxV1 bool, sidxTime uint64, trafs ...trafSpec) []byte {
	parts := [][]byte{mkBox("styp", []byte("msdh"), u32b(0), []byte("msdh"))}
	if sidx {
		if sidxV1 {
			parts = append(parts, mkBox("sidx", fullb(1, 0), u32b(1), u32b(1000), u64b(sidxTime), u64b(0), u16b(0), u16b(0)))
		} else {
			parts = append(parts, mkBox("sidx", fullb(0, 0), u32b(1), u32b(1000), u32b(uint32(sidxTime)), u32b(0), u16b(0), u16b(0)))
		}
	}
	moof := [][]byte{mkBox("mfhd", fullb(0, 0), u32b(seq))}
	for _, t := range trafs {
		moof = append(moof, mkTraf(t))
	}
	parts = append(parts, mkBox("moof", moof...), mkBox("mdat", make([]byte, 16)))
	return cat(parts...)
}
