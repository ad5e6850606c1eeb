package origin

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxNameLen bounds a title or channel name.
const maxNameLen = 64

// validName reports whether s may name a title or a channel: 1 to 64
// letters, digits, '-', '_' or '.', not starting with '.'.
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen || s[0] == '.' {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// serveVOD serves /vod/<title>/<file>: the clip's files as they are.
func (o *Origin) serveVOD(w http.ResponseWriter, r *http.Request) error {
	a, ok := o.clip.files[r.PathValue("file")]
	if !ok || !validName(r.PathValue("title")) {
		return errNotFound
	}
	cache := cacheVODManifest
	if a.segment {
		cache = cacheSegment
	}
	serveBytes(w, r, a.data, a.contentType, cache, a.etag, o.started)
	return nil
}

// serveLive serves /live/<channel>/<file>: the multivariant playlist as it
// is, live media playlists and MPD made for now, initialization segments as
// they are, and retimed media segments while they are available.
func (o *Origin) serveLive(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("file")
	if !validName(r.PathValue("channel")) {
		return errNotFound
	}
	now := o.now()
	switch {
	case name == masterName:
		a := o.clip.files[masterName]
		serveBytes(w, r, a.data, typeHLS, cacheLiveManifest, a.etag, o.started)
		return nil
	case name == mpdName:
		body, modified, ok, err := o.live.manifest(now, o.utcTimingURL(r))
		if err != nil || !ok {
			return notFoundOr(err)
		}
		serveBytes(w, r, body, typeDASH, cacheLiveManifest, contentETag(body), modified)
		return nil
	}
	if rep, ok := o.clip.playlists[name]; ok {
		body, modified, ok := o.live.playlist(rep, now)
		if !ok {
			return errNotFound
		}
		serveBytes(w, r, body, typeHLS, cacheLiveManifest, contentETag(body), modified)
		return nil
	}
	return o.serveNumbered(w, r, name, func(n uint64) (time.Time, bool) {
		return o.live.tl.availableAt(n), o.live.tl.available(n, now)
	})
}

// serveNumbered serves an initialization segment, or media segment n of
// the looped timeline (retimed) when have says it exists, with the time
// have gives as its Last-Modified.
func (o *Origin) serveNumbered(w http.ResponseWriter, r *http.Request, name string, have func(n uint64) (time.Time, bool)) error {
	for _, rep := range o.clip.reps {
		if name == rep.init.name {
			serveBytes(w, r, rep.init.data, rep.contentType, cacheSegment, rep.init.etag, o.started)
			return nil
		}
		n, ok := rep.media.number(name)
		if !ok {
			continue
		}
		modified, ok := have(n)
		if !ok {
			return errNotFound
		}
		body, err := o.live.segment(rep, n)
		if err != nil {
			return err
		}
		i, _ := o.live.tl.position(n)
		etag := strings.TrimSuffix(rep.segments[i].asset.etag, `"`) + "-" + strconv.FormatUint(n, 10) + `"`
		serveBytes(w, r, body, rep.contentType, cacheSegment, etag, modified)
		return nil
	}
	return errNotFound
}

// notFoundOr returns err, or errNotFound when err is nil.
func notFoundOr(err error) error {
	if err != nil {
		return err
	}
	return errNotFound
}

// contentETag is a strong ETag made from body.
func contentETag(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// utcTimingURL is the URL of /time written in live MPDs.
func (o *Origin) utcTimingURL(r *http.Request) string {
	if o.timeURL != "" {
		return o.timeURL
	}
	if r.Host == "" || !validHost(r.Host) {
		return PathTime
	}
	return "//" + r.Host + PathTime
}

// validHost reports whether h looks like host[:port], so that a forged Host
// header cannot put anything else in the MPD.
func validHost(h string) bool {
	for i := range len(h) {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}
