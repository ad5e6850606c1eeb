#!/usr/bin/env bash
# Makes smd's sample clip, media/vod/, with ffmpeg: 12 seconds of a synthetic
# test pattern (ffmpeg's testsrc2, which draws a running clock and a frame
# counter; each rendition is labelled with its height) and a 440 Hz tone,
# packaged once as CMAF fMP4 segments that both HLS and DASH reference.
#
#   media/make.sh          # rewrites media/vod/; needs ffmpeg (apt-get install ffmpeg)
#
# What comes out (names are fixed; internal/origin relies on the layout, not
# on these exact names, and reads everything from manifest.mpd and master.m3u8):
#
#   manifest.mpd                 DASH, static, SegmentTemplate with $Number$
#   master.m3u8                  HLS multivariant playlist (2 video variants, 1 audio group)
#   media_0.m3u8 media_1.m3u8    HLS media playlists of the video renditions
#   media_2.m3u8                 HLS media playlist of the audio rendition
#   init-<id>.m4s                initialization segment of representation <id>
#   seg-<id>-<n>.m4s             media segment n (1-6) of representation <id>
#
#   id 0: H.264 Main, 640x360, 25 fps, ~350 kb/s
#   id 1: H.264 Main, 1280x720, 25 fps, ~1 Mb/s
#   id 2: AAC-LC, stereo, 32 kHz, 64 kb/s
#
# Choices that the origin's simulated live stream depends on:
#
#   - 2-second segments, a keyframe exactly every 50 frames (-g, -keyint_min,
#     -sc_threshold 0, -force_key_frames) and no B-frames, so that every video
#     segment starts with an IDR frame and lasts exactly 2 s.
#   - Audio at 32 kHz, where 12 s is a whole number of AAC frames (375 of
#     1024 samples). The encoder adds one frame of priming, so the tone lasts
#     12 s minus one frame: the audio track then lasts exactly 12 s, like the
#     video track, and the clip loops without drift.
#   - Deterministic output: bitexact flags, no metadata, a single x264 thread
#     (with more, x264's output differs from run to run), and no wall-clock
#     EXT-X-PROGRAM-DATE-TIME lines (the dash muxer writes them; sed drops them).
set -euo pipefail
cd "$(dirname "$0")"

command -v ffmpeg >/dev/null || { echo "make.sh: ffmpeg not found (apt-get install ffmpeg)" >&2; exit 1; }

duration=12     # seconds; a multiple of seg and of 4 s (whole AAC frames at 32 kHz)
seg=2           # segment duration, seconds
fps=25
rate=32000      # audio sample rate
gop=$((seg * fps))
audio_dur=$(awk -v d="$duration" -v r="$rate" 'BEGIN { printf "%.6f", d - 1024 / r }')

out=vod
tmp=$(mktemp -d "${TMPDIR:-/tmp}/smd-media.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

label() { # label SIZE TEXT: draw TEXT in the lower right corner
	printf "drawtext=font=monospace:fontsize=%s:text=%s:x=w-tw-16:y=h-th-16:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=6" "$1" "$2"
}

# The command, in full (run with -loglevel info to see what ffmpeg does).
ffmpeg -hide_banner -loglevel warning -nostdin -y \
	-f lavfi -i "testsrc2=size=1280x720:rate=$fps:duration=$duration" \
	-f lavfi -i "sine=frequency=440:sample_rate=$rate:duration=$audio_dur" \
	-filter_complex "[0:v]split=2[a][b];[a]scale=640:360,$(label 28 360p)[v0];[b]$(label 48 720p)[v1]" \
	-map '[v0]' -map '[v1]' -map 1:a \
	-map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
	-c:v libx264 -threads:v 1 -preset veryfast -profile:v main -pix_fmt yuv420p \
	-bf 0 -g "$gop" -keyint_min "$gop" -sc_threshold 0 -force_key_frames "expr:gte(t,n_forced*$seg)" \
	-b:v:0 350k -maxrate:v:0 400k -bufsize:v:0 800k \
	-b:v:1 1000k -maxrate:v:1 1200k -bufsize:v:1 2400k \
	-c:a aac -b:a 64k -ac 2 -ar "$rate" \
	-f dash -seg_duration "$seg" -use_template 1 -use_timeline 0 -write_prft 0 \
	-hls_playlist 1 -adaptation_sets "id=0,streams=v id=1,streams=a" \
	-init_seg_name 'init-$RepresentationID$.m4s' \
	-media_seg_name 'seg-$RepresentationID$-$Number$.m4s' \
	"$tmp/manifest.mpd"

# Wall-clock times are not part of the clip.
sed -i '/^#EXT-X-PROGRAM-DATE-TIME:/d' "$tmp"/media_*.m3u8

rm -rf "$out"
mkdir "$out"
cp "$tmp"/*.mpd "$tmp"/*.m3u8 "$tmp"/*.m4s "$out"/
du -sh "$out"
