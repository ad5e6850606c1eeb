// Package media holds smd's sample clip, made by make.sh and embedded in the
// binary: 12 seconds of a test pattern with a running clock and a tone, in
// two H.264 renditions and one AAC rendition, as CMAF fMP4 segments shared
// by an HLS multivariant playlist (master.m3u8) and a DASH manifest
// (manifest.mpd).
//
// The contract: [VOD] returns the files of media/vod at its root, read-only
// and the same for the life of the binary. internal/origin serves them and
// loops them as a live stream; it reads the layout from manifest.mpd and
// master.m3u8, so make.sh may rename files without a change of code.
package media

import (
	"embed"
	"io/fs"
)

//go:embed vod
var vod embed.FS

// VOD returns the clip's files: manifest.mpd, master.m3u8, the HLS media
// playlists, and the initialization and media segments they reference.
func VOD() fs.FS {
	sub, err := fs.Sub(vod, "vod")
	if err != nil {
		panic("media: " + err.Error()) // "vod" is a valid path: cannot happen
	}
	return sub
}
