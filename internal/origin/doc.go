// Package origin is smd's sample HTTP origin: the HLS and DASH server that
// smd's edge is tested and demonstrated against. It serves one clip (by
// default the one embedded from package media) as VOD and as a simulated
// live stream.
//
// The contract, for an [Origin] made by [New]:
//
//   - GET or HEAD /vod/<title>/<file> serves the clip's files as they are,
//     for any title (1 to 64 of [A-Za-z0-9._-]): the HLS multivariant
//     playlist master.m3u8, the HLS media playlists, the DASH manifest
//     manifest.mpd, and the CMAF initialization and media segments that both
//     share. Playlists and manifests have Cache-Control max-age=60, segments
//     a year and immutable.
//   - GET or HEAD /live/<channel>/<file> serves, for any channel, a live
//     stream that loops the clip: live segment n (n ≥ 1) covers
//     [epoch + (n-1)·d, epoch + n·d), d being the clip's segment duration;
//     it becomes available when it ends and stays available for two
//     playlist windows. It plays clip segment (n-1) mod count, with its mfhd
//     sequence number set to n and its tfdt (and sidx) times moved by the
//     loops before it, so that media time never jumps back. Media playlists
//     list the last Config.LiveWindow segments; manifest.mpd is dynamic,
//     numbered from 1 at the epoch (startNumber 1, $Number$), with a
//     UTCTiming element pointing to /time. Live playlists and manifests have
//     max-age=1; everything that a live playlist lists is the same bytes for
//     a given epoch, whenever it is fetched.
//   - Every response to a file has Content-Type, Content-Length, ETag and
//     Last-Modified, and honours Range and conditional requests.
//   - GET /time returns the origin's clock (ISO 8601, UTC, milliseconds);
//     GET /healthz returns "ok"; GET / is a page listing the URLs.
//   - Anything else is 404 (405 for a method other than GET or HEAD), with
//     Cache-Control no-store and a fixed text; no path lists a directory.
//
// Time comes from Config.Now, so tests move the live stream without
// sleeping. The MP4 code (box.go, init.go, fragment.go) reads only what it needs and
// fails on malformed input rather than panicking; New checks the whole
// clip, including that every rendition lasts exactly as long, once.
package origin
