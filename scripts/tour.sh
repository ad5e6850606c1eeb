#!/usr/bin/env bash
# A tour of smd's command line (smd demo, scripts/demo.sh, is the main
# job): build smd, make a key, issue a playback URL bound to a viewer, and
# check it as the edge would, for that viewer (ALLOW) and for others (DENY); run the sample origin behind a real
# edge on loopback and fetch through it; then run `smd serve` (embedded
# NATS, control plane, edge): create an asset, get a playback URL from the
# token API, play it, rotate the signing key (the old token still plays),
# revoke the session (403). Needs Go and curl (ffprobe, if present, plays
# the stream).
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
echo "== now through a real edge: smd origin (sample HLS/DASH) behind smd edge, on loopback"
"$smd" origin --listen 127.0.0.1:18081 2>"$work/origin.log" &
pids=($!)
"$smd" edge --listen 127.0.0.1:18080 --admin-listen 127.0.0.1:18090 --keys "$work/keys.json" \
	--origin http://127.0.0.1:18081 --access-log "$work/access.log" 2>"$work/edge.log" &
pids+=($!)
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do
	curl -fs -o /dev/null http://127.0.0.1:18090/readyz && curl -fs -o /dev/null http://127.0.0.1:18081/healthz && break
	sleep 0.1
done
play=$("$smd" token sign --keys "$work/keys.json" --path /vod/m1/ --exp +2h --ssn \
	--url http://127.0.0.1:18080/vod/m1/master.m3u8)
echo "playback URL: ${play:0:60}..."
expect_status() { # want, description, URL
	local got
	got=$(curl -s -o /dev/null -w '%{http_code}' "$3")
	printf '%-40s %s\n' "$2:" "$got"
	if [ "$got" != "$1" ]; then
		echo "expected $1" >&2
		exit 1
	fi
}
expect_status 200 "master playlist with the token" "$play"
expect_status 200 "a segment, same token" "${play%/master.m3u8}/seg-1-1.m4s"
expect_status 401 "the same segment without the token" http://127.0.0.1:18080/vod/m1/seg-1-1.m4s
expect_status 401 "the token on another title" "${play/\/vod\/m1\//\/vod\/m2\/}"
if command -v ffprobe >/dev/null; then
	printf 'ffprobe reads the stream, seconds:     %s\n' "$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$play")"
fi
echo "access log (last 2 lines):"
tail -n 2 "$work/access.log" 2>/dev/null || true

echo
echo "== the control plane: smd serve (embedded NATS, API, key rotation) in front of the same origin"
"$smd" serve --listen 127.0.0.1:18180 --data-dir "$work/serve" --origin http://127.0.0.1:18081 \
	--config <(printf 'admin: {listen: 127.0.0.1:18190}\n') 2>"$work/serve.log" &
pids+=($!)
for _ in $(seq 100); do
	curl -fs -o /dev/null http://127.0.0.1:18190/readyz && break
	sleep 0.1
done
export SMD_API_URL=http://127.0.0.1:18180 SMD_API_KEY_FILE="$work/serve/api-keys.admin"
echo "first start made: $(cd "$work/serve" && ls master.key api-keys.* | tr '\n' ' ')"
printf '{"id":"m1","url_path":"/vod/m1/master.m3u8","endpoint_hostname":"127.0.0.1:18180","token_policy":{"ssn":true,"headers":["user-agent"],"paths":["/vod/m1/"],"exp":"+2h"}}' |
	"$smd" assets create -
tok=$(curl -fs -A "$ua" -H "Authorization: Bearer $(cat "$work/serve/api-keys.issuer")" "$SMD_API_URL/v1/token?id=m1")
play=$(printf '%s' "$tok" | sed -n 's/.*"playback_url":"\([^"]*\)".*/\1/p')
session=$(printf '%s' "$tok" | sed -n 's/.*"session_id":"\([^"]*\)".*/\1/p')
echo "GET /v1/token?id=m1 (issuer key): playback URL ${play:0:60}..., session $session"
expect_status_ua() { # want, description, URL
	local got
	got=$(curl -s -A "$ua" -o /dev/null -w '%{http_code}' "$3")
	printf '%-40s %s\n' "$2:" "$got"
	[ "$got" = "$1" ] || { echo "expected $1" >&2; exit 1; }
}
expect_status_ua 200 "the player fetches the playlist" "$play"
if command -v ffprobe >/dev/null; then
	printf 'ffprobe plays it, seconds:               %s\n' "$(ffprobe -v error -user_agent "$ua" -show_entries format=duration -of csv=p=0 "$play")"
fi
"$smd" keys rotate >/dev/null
echo "smd keys rotate: the new key reaches the edge before it signs; the old token still plays"
for _ in $(seq 100); do
	"$smd" keys list | grep -q ' secondary ' && break
	sleep 0.1
done
"$smd" keys list
expect_status_ua 200 "the old token after the rotation" "$play"
"$smd" sessions revoke "$session" --reason "shared on a forum" --ttl 1h
for _ in $(seq 50); do
	[ "$(curl -s -A "$ua" -o /dev/null -w '%{http_code}' "$play")" = 403 ] && break
	sleep 0.02
done
expect_status_ua 403 "the revoked session" "$play"
"$smd" sessions list

echo
echo "== done: every verdict as expected"
