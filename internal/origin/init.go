package origin

import "fmt"

// This file reads the tracks of a CMAF initialization segment, with the
// walker of box.go.

// track is what an initialization segment says about one track.
type track struct {
	id        uint32
	timescale uint32  // ticks per second of the media timeline (mdhd)
	handler   boxType // "vide", "soun", ...
	// defaultDuration is trex's default_sample_duration, used when a
	// fragment gives neither per-sample nor tfhd default durations.
	defaultDuration uint32
}

// parseInit reads the tracks of an initialization segment (ftyp, moov).
func parseInit(b []byte) ([]track, error) {
	var tracks []track
	var trex []track // id and defaultDuration only
	var sawMoov bool
	err := eachBox(b, 0, len(b), func(top box) error {
		if top.typ != bt("moov") {
			return nil
		}
		if sawMoov {
			return fmt.Errorf("%w: two moov boxes", errMalformed)
		}
		sawMoov = true
		return eachBox(b, top.body, top.end, func(bx box) error {
			switch bx.typ {
			case bt("trak"):
				t, err := parseTrak(b, bx)
				if err != nil {
					return err
				}
				tracks = append(tracks, t)
			case bt("mvex"):
				return eachBox(b, bx.body, bx.end, func(x box) error {
					if x.typ != bt("trex") {
						return nil
					}
					c := payload(b, x)
					c.fullHeader()
					t := track{id: c.u32()}
					c.u32() // default_sample_description_index
					t.defaultDuration = c.u32()
					trex = append(trex, t)
					return c.err
				})
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if !sawMoov {
		return nil, fmt.Errorf("%w: no moov box", errMalformed)
	}
	if len(tracks) == 0 {
		return nil, fmt.Errorf("%w: no track", errMalformed)
	}
	for i := range tracks {
		for j := range i {
			if tracks[j].id == tracks[i].id {
				return nil, fmt.Errorf("%w: two tracks with id %d", errMalformed, tracks[i].id)
			}
		}
		for _, x := range trex {
			if x.id == tracks[i].id {
				tracks[i].defaultDuration = x.defaultDuration
			}
		}
	}
	return tracks, nil
}

// parseTrak reads the id, timescale and handler of one trak box.
func parseTrak(b []byte, trak box) (track, error) {
	var t track
	var sawTkhd, sawMdhd bool
	err := eachBox(b, trak.body, trak.end, func(bx box) error {
		switch bx.typ {
		case bt("tkhd"):
			c := payload(b, bx)
			if v, _ := c.fullHeader(); v == 1 {
				c.take(16) // creation and modification times
			} else {
				c.take(8)
			}
			t.id, sawTkhd = c.u32(), true
			return c.err
		case bt("mdia"):
			return eachBox(b, bx.body, bx.end, func(m box) error {
				c := payload(b, m)
				switch m.typ {
				case bt("mdhd"):
					if v, _ := c.fullHeader(); v == 1 {
						c.take(16)
					} else {
						c.take(8)
					}
					t.timescale, sawMdhd = c.u32(), true
				case bt("hdlr"):
					c.fullHeader()
					c.u32() // pre_defined
					if at := c.take(4); at >= 0 {
						copy(t.handler[:], b[at:])
					}
				}
				return c.err
			})
		}
		return nil
	})
	switch {
	case err != nil:
		return track{}, err
	case !sawTkhd || !sawMdhd:
		return track{}, fmt.Errorf("%w: trak without tkhd or mdhd", errMalformed)
	case t.id == 0 || t.timescale == 0:
		return track{}, fmt.Errorf("%w: track id %d, timescale %d", errMalformed, t.id, t.timescale)
	}
	return t, nil
}

func findTrack(tracks []track, id uint32) (track, bool) {
	for _, t := range tracks {
		if t.id == id {
			return t, true
		}
	}
	return track{}, false
}
