// Package mediatime learns how much media each segment holds from the
// manifests an edge serves (HLS media playlists' EXTINF, DASH
// SegmentTemplate durations and timelines), so that access events can
// carry it and a detector can count media seconds fetched per wall
// second. It also holds the segment path template that tells one
// rendition's segments from another's: the path with the last run of
// digits of its file name (the segment number or time) left out.
//
// It keeps one duration per rendition (per template), not per segment:
// bounded memory whatever the catalogue. It does no I/O and imports
// nothing of smd but the standard library, so the edge can use it; it
// must not import the control plane, NATS or the detector.
package mediatime
