package origin

import (
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/smd-media/smd/media"
)

// DefaultLiveEpoch is the default start of the live timeline: live segment
// 1 begins at this instant. A fixed epoch gives every origin the same
// segment numbers and bytes at the same time, across restarts.
var DefaultLiveEpoch = time.Date(2024, time.January, 1, 0, 0, 0, 0, time.UTC)

// DefaultLiveWindow is the default number of segments in a live playlist.
const DefaultLiveWindow = 5

// Example paths, one of each kind. Any title after /vod/ and any channel
// after /live/ serve the same clip.
const (
	PathVODHLS   = "/vod/m1/" + masterName
	PathVODDASH  = "/vod/m1/" + mpdName
	PathLiveHLS  = "/live/ch1/" + masterName
	PathLiveDASH = "/live/ch1/" + mpdName
	// PathLongHLS is a 90-minute title: any length from 1 to 1440 minutes
	// after /long/.
	PathLongHLS = "/long/90/film/" + masterName
	PathTime    = "/time"
	PathHealth  = "/healthz"
)

// Config configures an Origin. The zero value is ready to use.
type Config struct {
	// Media is the clip to serve: manifest.mpd and master.m3u8 at its root,
	// and the files they reference (see package media). Nil means the
	// sample clip embedded in smd, media.VOD().
	Media fs.FS

	// Now returns the current time, for the live timeline and /time. Nil
	// means time.Now. Tests inject a clock here.
	Now func() time.Time

	// LiveEpoch is when live segment 1 begins. The zero value means
	// DefaultLiveEpoch.
	LiveEpoch time.Time

	// LiveWindow is the number of segments a live playlist lists (and the
	// MPD's timeShiftBufferDepth, in segments), at least 3. Zero means
	// DefaultLiveWindow.
	LiveWindow int

	// TimeURL is the UTCTiming URL written in live MPDs, where DASH players
	// read the origin's clock. Empty means "//<request host>/time", which
	// players resolve against the page or the MPD.
	TimeURL string

	// AllowOrigin, when set, is sent as Access-Control-Allow-Origin on
	// every response (e.g. "*"), so that players on other sites may read
	// the origin directly. Leave it empty behind an edge that sets CORS.
	AllowOrigin string

	// Logger receives server errors. Nil means no logging.
	Logger *slog.Logger
}

// Origin is the sample HTTP origin: an http.Handler for VOD, simulated
// live, /time, /healthz and an index page at /. See the package doc.
type Origin struct {
	clip    *clip
	live    *live
	now     func() time.Time
	started time.Time // Last-Modified of VOD files
	timeURL string
	cors    string
	log     *slog.Logger
	mux     *http.ServeMux
}

// New loads and checks the clip and returns an Origin serving it.
func New(cfg Config) (*Origin, error) {
	if cfg.Media == nil {
		cfg.Media = media.VOD()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LiveEpoch.IsZero() {
		cfg.LiveEpoch = DefaultLiveEpoch
	}
	if cfg.LiveWindow == 0 {
		cfg.LiveWindow = DefaultLiveWindow
	}
	if cfg.LiveWindow < 3 || cfg.LiveWindow > 1000 {
		return nil, fmt.Errorf("origin: LiveWindow %d: want 3 to 1000 segments", cfg.LiveWindow)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := loadClip(cfg.Media)
	if err != nil {
		return nil, fmt.Errorf("origin: %w", err)
	}
	tl := timeline{epoch: cfg.LiveEpoch, segDur: c.segDur, count: c.count, window: cfg.LiveWindow}
	o := &Origin{
		clip:    c,
		live:    newLive(c, tl),
		now:     cfg.Now,
		started: cfg.Now().UTC().Truncate(time.Second),
		timeURL: cfg.TimeURL,
		cors:    cfg.AllowOrigin,
		log:     cfg.Logger,
		mux:     http.NewServeMux(),
	}
	o.routes()
	return o, nil
}

// routes builds the request router: every path the origin serves, one line
// each; anything else is 404 (405 for a method other than GET or HEAD).
func (o *Origin) routes() {
	handle := func(pattern string, h handlerFunc) {
		o.mux.Handle(pattern, errorWriter{log: o.log, next: h})
	}
	handle("GET /{$}", o.serveIndex)
	handle("GET "+PathHealth, o.serveHealth)
	handle("GET "+PathTime, o.serveTime)
	handle("GET /vod/{title}/{file}", o.serveVOD)
	handle("GET /live/{channel}/{file}", o.serveLive)
	handle("GET /long/{minutes}/{title}/{file}", o.serveLong)
	handle("/", o.serveOther)
}

// ServeHTTP serves one request.
func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if o.cors != "" {
		w.Header().Set("Access-Control-Allow-Origin", o.cors)
	}
	o.mux.ServeHTTP(w, r)
}

// SegmentDuration is the duration of the clip's segments, and the period at
// which live playlists change.
func (o *Origin) SegmentDuration() time.Duration { return o.clip.segDur }

// ClipDuration is the duration of the clip, the period of the live loop.
func (o *Origin) ClipDuration() time.Duration { return o.clip.length }

var _ http.Handler = (*Origin)(nil)
