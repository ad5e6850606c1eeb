package origin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// This file reads the timing of a CMAF media segment, with the walker of
// box.go, and moves the segment along the timeline (retime).

// errOverflow is returned when a moved time no longer fits its field.
var errOverflow = errors.New("time overflows its field")

// timeField is a time inside a media segment that retime moves: a track
// fragment's baseMediaDecodeTime (tfdt) or a segment index's
// earliest_presentation_time (sidx).
type timeField struct {
	off       int  // offset of the value in the segment
	wide      bool // 64 bits, else 32
	value     uint64
	track     uint32 // tfdt: the track fragment's track; sidx: reference_ID
	timescale uint32 // sidx: its own; tfdt: the track's (0 when not known)
}

// trackTime is the extent of one track in a media segment, in the track's
// timescale: from start (the first tfdt) for duration ticks.
type trackTime struct {
	id              uint32
	start, duration uint64
	samples         uint64
}

// fragment is the layout of one media segment (styp, sidx, moof, mdat, ...):
// where its sequence numbers and times sit, and how long each track lasts.
type fragment struct {
	seqOffs []int // offsets of the mfhd sequence numbers
	times   []timeField
	tracks  []trackTime // in order of first appearance
}

// trackTime returns the extent of track id, or false.
func (f *fragment) trackTime(id uint32) (trackTime, bool) {
	for _, t := range f.tracks {
		if t.id == id {
			return t, true
		}
	}
	return trackTime{}, false
}

// parseFragment reads the layout of a media segment. tracks, from the
// initialization segment, give timescales and trex default durations;
// with tracks nil any track id is accepted, with a timescale of 0.
func parseFragment(b []byte, tracks []track) (*fragment, error) {
	f := &fragment{}
	var moofs int
	err := eachBox(b, 0, len(b), func(bx box) error {
		switch bx.typ {
		case bt("sidx"):
			return f.parseSidx(b, bx)
		case bt("moof"):
			moofs++
			return f.parseMoof(b, bx, tracks)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if moofs == 0 {
		return nil, fmt.Errorf("%w: no moof box", errMalformed)
	}
	return f, nil
}

func (f *fragment) parseSidx(b []byte, bx box) error {
	c := payload(b, bx)
	v, _ := c.fullHeader()
	tf := timeField{track: c.u32(), timescale: c.u32(), wide: v == 1}
	tf.off = c.take(0)
	if tf.wide {
		tf.value = c.u64()
	} else {
		tf.value = uint64(c.u32())
	}
	if c.err != nil {
		return c.err
	}
	if tf.timescale == 0 {
		return fmt.Errorf("%w: sidx with timescale 0", errMalformed)
	}
	f.times = append(f.times, tf)
	return nil
}

func (f *fragment) parseMoof(b []byte, moof box, tracks []track) error {
	return eachBox(b, moof.body, moof.end, func(bx box) error {
		switch bx.typ {
		case bt("mfhd"):
			c := payload(b, bx)
			c.fullHeader()
			at := c.take(4)
			if c.err != nil {
				return c.err
			}
			f.seqOffs = append(f.seqOffs, at)
		case bt("traf"):
			return f.parseTraf(b, bx, tracks)
		}
		return nil
	})
}

// parseTraf reads one track fragment: tfhd, then tfdt and truns.
func (f *fragment) parseTraf(b []byte, traf box, tracks []track) error {
	var (
		id, defDur        uint32
		sawTfhd, sawTfdt  bool
		tfdt              timeField
		duration, samples uint64
		trk               track
	)
	err := eachBox(b, traf.body, traf.end, func(bx box) error {
		c := payload(b, bx)
		switch bx.typ {
		case bt("tfhd"):
			if sawTfhd {
				return fmt.Errorf("%w: two tfhd in a traf", errMalformed)
			}
			_, flags := c.fullHeader()
			id, sawTfhd = c.u32(), true
			if tracks != nil {
				var ok bool
				if trk, ok = findTrack(tracks, id); !ok {
					return fmt.Errorf("%w: traf of track %d, not in the init segment", errMalformed, id)
				}
			}
			defDur = trk.defaultDuration
			if flags&0x01 != 0 {
				c.take(8) // base_data_offset
			}
			if flags&0x02 != 0 {
				c.take(4) // sample_description_index
			}
			if flags&0x08 != 0 {
				defDur = c.u32()
			}
		case bt("tfdt"):
			if !sawTfhd || sawTfdt {
				return fmt.Errorf("%w: tfdt not after one tfhd", errMalformed)
			}
			v, _ := c.fullHeader()
			tfdt = timeField{off: c.take(0), wide: v == 1, track: id, timescale: trk.timescale}
			if tfdt.wide {
				tfdt.value = c.u64()
			} else {
				tfdt.value = uint64(c.u32())
			}
			sawTfdt = true
		case bt("trun"):
			if !sawTfhd {
				return fmt.Errorf("%w: trun before tfhd", errMalformed)
			}
			d, n, err := trunDuration(c, defDur)
			if err != nil {
				return err
			}
			var carry uint64
			if duration, carry = bits.Add64(duration, d, 0); carry != 0 {
				return fmt.Errorf("%w: track %d: durations overflow", errMalformed, id)
			}
			samples += n
		}
		return c.err
	})
	switch {
	case err != nil:
		return err
	case !sawTfhd:
		return fmt.Errorf("%w: traf without tfhd", errMalformed)
	case !sawTfdt:
		return fmt.Errorf("%w: traf of track %d without tfdt", errMalformed, id)
	}
	f.times = append(f.times, tfdt)
	for i := range f.tracks {
		t := &f.tracks[i]
		if t.id != id {
			continue
		}
		end, carry := bits.Add64(t.start, t.duration, 0)
		if carry != 0 || tfdt.value != end {
			return fmt.Errorf("%w: track %d: fragment at %d, want %d", errMalformed, id, tfdt.value, end)
		}
		if t.duration, carry = bits.Add64(t.duration, duration, 0); carry != 0 {
			return fmt.Errorf("%w: track %d: durations overflow", errMalformed, id)
		}
		t.samples += samples
		return nil
	}
	f.tracks = append(f.tracks, trackTime{id: id, start: tfdt.value, duration: duration, samples: samples})
	return nil
}

// trunDuration returns the total duration and the number of the samples of
// a trun box, whose full header c is at.
func trunDuration(c *cursor, defDur uint32) (duration, samples uint64, err error) {
	_, flags := c.fullHeader()
	n := c.u32()
	if flags&0x01 != 0 {
		c.take(4) // data_offset
	}
	if flags&0x04 != 0 {
		c.take(4) // first_sample_flags
	}
	stride := 4 * bits.OnesCount32(flags&0xF00) // duration, size, flags, composition offset
	if c.err != nil {
		return 0, 0, c.err
	}
	if uint64(n)*uint64(stride) > uint64(c.left()) {
		return 0, 0, fmt.Errorf("%w: trun of %d samples in %d bytes", errMalformed, n, c.left())
	}
	if flags&0x100 == 0 {
		return uint64(n) * uint64(defDur), uint64(n), nil
	}
	for range n {
		duration += uint64(c.u32()) // fewer than 2^32 terms below 2^32: no overflow
		c.take(stride - 4)
	}
	return duration, uint64(n), c.err
}

// retime returns a copy of seg, whose layout is f, with every mfhd
// sequence number set to seq and every time moved later by shift(timescale)
// ticks of that time's timescale. It fails, and returns nothing, when shift
// fails or a time no longer fits its field.
func (f *fragment) retime(seg []byte, seq uint32, shift func(timescale uint32) (uint64, error)) ([]byte, error) {
	out := make([]byte, len(seg))
	copy(out, seg)
	for _, at := range f.seqOffs {
		if at < 0 || at+4 > len(out) {
			return nil, fmt.Errorf("%w: sequence number at %d outside %d bytes", errMalformed, at, len(out))
		}
		binary.BigEndian.PutUint32(out[at:], seq)
	}
	for _, tf := range f.times {
		d, err := shift(tf.timescale)
		if err != nil {
			return nil, fmt.Errorf("track %d: %w", tf.track, err)
		}
		v, carry := bits.Add64(tf.value, d, 0)
		width := 8
		if !tf.wide {
			width = 4
		}
		switch {
		case carry != 0, !tf.wide && v > math.MaxUint32:
			return nil, fmt.Errorf("track %d: %d + %d: %w", tf.track, tf.value, d, errOverflow)
		case tf.off < 0 || tf.off+width > len(out):
			return nil, fmt.Errorf("%w: time at %d outside %d bytes", errMalformed, tf.off, len(out))
		case tf.wide:
			binary.BigEndian.PutUint64(out[tf.off:], v)
		default:
			binary.BigEndian.PutUint32(out[tf.off:], uint32(v))
		}
	}
	return out, nil
}
