package origin

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// This file reads the clip's HLS playlists: which media playlists the
// multivariant playlist names, and which files each media playlist lists.

// playlistURIs returns the URIs of the media playlists that a multivariant
// playlist references: the line after each EXT-X-STREAM-INF, and the URI
// attribute of EXT-X-MEDIA and EXT-X-I-FRAME-STREAM-INF tags.
func playlistURIs(master []byte) ([]string, error) {
	var uris []string
	lines, err := playlistLines(master)
	if err != nil {
		return nil, err
	}
	for _, line := range lines {
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA:"), strings.HasPrefix(line, "#EXT-X-I-FRAME-STREAM-INF:"):
			if uri, ok := uriAttribute(line); ok {
				uris = append(uris, uri)
			}
		case !strings.HasPrefix(line, "#"):
			uris = append(uris, line)
		}
	}
	if len(uris) == 0 {
		return nil, fmt.Errorf("hls: multivariant playlist names no media playlist")
	}
	return uris, nil
}

// mediaPlaylist is what the origin reads from an HLS media playlist.
type mediaPlaylist struct {
	mapURI   string   // EXT-X-MAP URI: the initialization segment
	segments []string // segment URIs, in order
}

// parseMediaPlaylist reads a media playlist of fMP4 segments.
func parseMediaPlaylist(b []byte) (mediaPlaylist, error) {
	var p mediaPlaylist
	lines, err := playlistLines(b)
	if err != nil {
		return p, err
	}
	for _, line := range lines {
		switch {
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			uri, ok := uriAttribute(line)
			if !ok || p.mapURI != "" {
				return p, fmt.Errorf("hls: bad or second EXT-X-MAP: %q", line)
			}
			p.mapURI = uri
		case !strings.HasPrefix(line, "#"):
			p.segments = append(p.segments, line)
		}
	}
	if p.mapURI == "" || len(p.segments) == 0 {
		return p, fmt.Errorf("hls: media playlist without EXT-X-MAP or segments")
	}
	return p, nil
}

// playlistLines returns the non-blank lines of a playlist, which must begin
// with #EXTM3U.
func playlistLines(b []byte) ([]string, error) {
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("hls: %w", err)
	}
	if len(lines) == 0 || lines[0] != "#EXTM3U" {
		return nil, fmt.Errorf("hls: playlist does not begin with #EXTM3U")
	}
	return lines, nil
}

// uriAttribute returns the value of the quoted URI attribute of a tag line.
func uriAttribute(line string) (string, bool) {
	i := strings.Index(line, `URI="`)
	if i < 0 || (i > 0 && line[i-1] != ':' && line[i-1] != ',') {
		return "", false
	}
	v := line[i+len(`URI="`):]
	j := strings.IndexByte(v, '"')
	if j <= 0 {
		return "", false
	}
	return v[:j], true
}
