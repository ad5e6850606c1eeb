#!/usr/bin/env bash
# smd's main job, until `smd demo` exists: build smd, make a key, issue a
# playback URL bound to a viewer, and check it as the edge would, for that
# viewer (ALLOW) and for others (DENY). Needs only Go.
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p bin
echo "== building bin/smd"
go build -o bin/smd ./cmd/smd
smd=bin/smd
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

hex() { od -An -vtx1 -N "$1" /dev/urandom | tr -d ' \n'; }
kid="$(date -u +%Y%m%d)_$(hex 10)"
(umask 077 && printf '{"%s": "%s"}\n' "$kid" "$(hex 64)" > "$work/keys.json")
echo "== key file with one key: $kid (secret not shown)"

ua='ExamplePlayer/1.0'
echo
echo "== smd token sign: /vod/m1/ for 2 hours, bound to 203.0.113.5, a new session and the User-Agent"
url=$("$smd" token sign --keys "$work/keys.json" --path /vod/m1/ --exp +2h \
	--ip --viewer-ip 203.0.113.5 --ssn --bind-header user-agent -H "User-Agent: $ua" \
	--url https://cdn.example.com/vod/m1/index.m3u8)
echo "$url"

echo
echo "== smd token inspect (no key needed; the signature is not checked)"
"$smd" token inspect "$url"

check() { # expect, description, verify args...
	local want=$1 what=$2
	shift 2
	printf '\n== %s: expect %s\n' "$what" "$want"
	set +e
	"$smd" token verify --keys "$work/keys.json" "$@"
	local code=$?
	set -e
	if { [ "$want" = ALLOW ] && [ $code -ne 0 ]; } || { [ "$want" = DENY ] && [ $code -ne 1 ]; }; then
		echo "unexpected exit code $code" >&2
		exit 1
	fi
}
seg=${url%/index.m3u8}/720p/seg_00001.ts
check ALLOW "the viewer's player fetches the playlist" "$url" --viewer-ip 203.0.113.5 -H "User-Agent: $ua"
check ALLOW "the same player fetches a segment (relative URL, same token)" "$seg" --viewer-ip 203.0.113.5 -H "User-Agent: $ua"
check DENY "the URL shared with a viewer elsewhere" "$url" --viewer-ip 198.51.100.7 -H "User-Agent: $ua"
check DENY "the URL replayed with curl" "$url" --viewer-ip 203.0.113.5 -H "User-Agent: curl/8.0"
check DENY "the URL three hours later" "$url" --viewer-ip 203.0.113.5 -H "User-Agent: $ua" --now +3h
check DENY "the token moved to another title" "${url/\/vod\/m1\//\/vod\/m2\/}" --viewer-ip 203.0.113.5 -H "User-Agent: $ua"
check DENY "a path traversal to another title" "${url%/index.m3u8}/../m2/index.m3u8" --viewer-ip 203.0.113.5 -H "User-Agent: $ua"
echo
echo "== done: every verdict as expected"
