package origin

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"time"
)

// This file holds the origin's small endpoints: /time, /healthz, the index
// page, and the answer to every other request.

// serveTime serves the origin's clock for DASH players (UTCTiming scheme
// http-iso): an ISO 8601 UTC date-time with milliseconds.
func (o *Origin) serveTime(w http.ResponseWriter, _ *http.Request) error {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Cache-Control", cacheNone)
	_, err := io.WriteString(w, o.now().UTC().Format("2006-01-02T15:04:05.000Z"))
	return err
}

// serveHealth answers the health check.
func (o *Origin) serveHealth(w http.ResponseWriter, _ *http.Request) error {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Cache-Control", cacheNone)
	_, err := io.WriteString(w, "ok\n")
	return err
}

// serveOther answers every request no route took: a CORS preflight when
// AllowOrigin is set, 405 for a method other than GET or HEAD, else 404.
func (o *Origin) serveOther(w http.ResponseWriter, r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return errNotFound
	case http.MethodOptions:
		if o.cors != "" {
			hdr := w.Header()
			hdr.Set("Access-Control-Allow-Methods", "GET, HEAD")
			hdr.Set("Access-Control-Allow-Headers", "Range")
			hdr.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
	}
	w.Header().Set("Allow", "GET, HEAD")
	return &httpError{status: http.StatusMethodNotAllowed, msg: "method not allowed"}
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>smd sample origin</title></head>
<body>
<h1>smd sample origin</h1>
<p>A {{.Clip}} clip in {{.Reps}} renditions, {{.Seg}} segments. Any title after /vod/ and any channel after /live/ serve it.</p>
<ul>
{{range .Links}}<li>{{.Name}}: <a href="{{.Path}}">{{.Path}}</a></li>
{{end}}</ul>
<p>Live: segment n covers [epoch + (n-1)&times;{{.Seg}}, epoch + n&times;{{.Seg}}) with the epoch at {{.Epoch}};
playlists list the last {{.Window}} segments.</p>
</body></html>
`))

// serveIndex serves a page listing the origin's URLs.
func (o *Origin) serveIndex(w http.ResponseWriter, _ *http.Request) error {
	type link struct{ Name, Path string }
	data := struct {
		Clip, Seg    time.Duration
		Reps, Window int
		Epoch        string
		Links        []link
	}{
		Clip: o.clip.length, Seg: o.clip.segDur, Reps: len(o.clip.reps), Window: o.live.tl.window,
		Epoch: o.live.tl.epoch.UTC().Format(time.RFC3339),
		Links: []link{
			{"VOD HLS", PathVODHLS}, {"VOD DASH", PathVODDASH},
			{"live HLS", PathLiveHLS}, {"live DASH", PathLiveDASH},
			{"clock (DASH UTCTiming)", PathTime}, {"health", PathHealth},
		},
	}
	var b bytes.Buffer
	if err := indexPage.Execute(&b, data); err != nil {
		return fmt.Errorf("index page: %w", err)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", cacheVODManifest)
	_, err := w.Write(b.Bytes())
	return err
}
