// Package e2e holds smd's end-to-end tests: a real edge in front of the
// sample origin, driven by real players (ffmpeg, ffprobe) and curl. It has
// no code of its own.
package e2e
