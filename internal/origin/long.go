package origin

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// maxLongMinutes bounds a long title: a day.
const maxLongMinutes = 24 * 60

// serveLong serves /long/<minutes>/<title>/<file>: a VOD title of that
// many minutes, the clip looped as the live stream loops it (segments
// numbered from 1, retimed so that media time grows without a jump),
// every segment listed at once with EXT-X-ENDLIST, and a static MPD of
// that duration. What a film or a match replay is to a player, where the
// 12 s clip is over before a detector has seen anything.
func (o *Origin) serveLong(w http.ResponseWriter, r *http.Request) error {
	minutes, err := strconv.Atoi(r.PathValue("minutes"))
	if err != nil || minutes < 1 || minutes > maxLongMinutes || strconv.Itoa(minutes) != r.PathValue("minutes") ||
		!validName(r.PathValue("title")) {
		return errNotFound
	}
	count := uint64(time.Duration(minutes) * time.Minute / o.clip.segDur)
	name := r.PathValue("file")
	switch {
	case name == masterName:
		a := o.clip.files[masterName]
		serveBytes(w, r, a.data, typeHLS, cacheVODManifest, a.etag, o.started)
		return nil
	case name == mpdName:
		body, err := o.longMPD(count)
		if err != nil {
			return err
		}
		serveBytes(w, r, body, typeDASH, cacheVODManifest, contentETag(body), o.started)
		return nil
	}
	if rep, ok := o.clip.playlists[name]; ok {
		body := o.longPlaylist(rep, count)
		serveBytes(w, r, body, typeHLS, cacheVODManifest, contentETag(body), o.started)
		return nil
	}
	return o.serveNumbered(w, r, name, func(n uint64) (time.Time, bool) { return o.started, n >= 1 && n <= count })
}

// longPlaylist is the media playlist of r for a title of count segments.
func (o *Origin) longPlaylist(r *rendition, count uint64) []byte {
	ts := float64(r.track.timescale)
	var b bytes.Buffer
	fmt.Fprintf(&b, "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:%d\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MEDIA-SEQUENCE:1\n", o.clip.target)
	fmt.Fprintf(&b, "#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"%s\"\n", r.init.name)
	for n := uint64(1); n <= count; n++ {
		i, _ := o.live.tl.position(n)
		b.WriteString("#EXTINF:")
		b.WriteString(strconv.FormatFloat(float64(r.segments[i].duration)/ts, 'f', 6, 64))
		b.WriteString(",\n")
		b.WriteString(r.media.name(n))
		b.WriteByte('\n')
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.Bytes()
}

// longMPD is the static MPD of a title of count segments: the clip's,
// numbered from 1, lasting count segments.
func (o *Origin) longMPD(count uint64) ([]byte, error) {
	m := o.live.mpd
	m.Type = "static"
	m.AvailabilityStartTime, m.MinimumUpdatePeriod, m.TimeShiftBufferDepth, m.SuggestedPresentationDelay = "", "", "", ""
	m.MediaPresentationDuration = isoDuration(time.Duration(count) * o.clip.segDur)
	m.PublishTime = ""
	out, err := xml.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("long mpd: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}
