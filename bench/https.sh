#!/usr/bin/env bash
# bench/https.sh: smd edge against nginx over HTTPS (HTTP/1.1 over TLS 1.3,
# TLS_AES_128_GCM_SHA256 on both, keep-alive), side by side on the same
# core, in one run. See bench/README.md.
#
#   nginx      proxy_cache + secure_link, one worker, ssl on
#   smd-lean   smd edge, server.engine lean (HTTP/1.1 on smd's own server
#              over crypto/tls), GOMAXPROCS=1
#   smd-nethttp the same with server.engine net/http (Go's server)
#
# Both serve a 1 KB and a 200 KB object from their caches, with the same
# ECDSA P-256 certificate; smd's tokens are bound to the viewer's IP and a
# session. wrk on core LOAD_CPU, peers on core PEER_CPU; medians of REPS
# runs, peers alternating. Writes bench/https-results.md (raw outputs in
# bench/out-https/).
#
# Knobs (environment): DURATION=10s WARMUP=2s REPS=3 CONNS=32
# PORT_BASE=(free ports in 37000-37999) PEER_CPU=1 LOAD_CPU=0.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BIN=$BENCH/.bin
OUT=$BENCH/out-https
RESULTS=$BENCH/https-results.md

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
REPS=${REPS:-3}
CONNS=${CONNS:-32}
PORT_BASE=${PORT_BASE:-}
PEER_CPU=${PEER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
LOAD_START=$(cut -d" " -f1-3 /proc/loadavg)

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$BENCH/lib.sh"

ensure_tools
command -v go >/dev/null || die "go is not on the PATH"
[ "$(nproc)" -ge 2 ] || die "needs 2 cores"

log "building smd and the token generator"
mkdir -p "$BIN"
(cd "$ROOT" && go build -o "$BIN/smd" ./cmd/smd && go build -o "$BIN/tokens" ./bench/tokens)
command -v h2load >/dev/null || {
	[ "$(id -u)" -eq 0 ] || die "missing h2load: install nghttp2-client"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nghttp2-client >/dev/null
}
SMD=$BIN/smd

pick_port_base 6
ORIGIN_PORT=$PORT_BASE
declare -A PORT=([nginx]=$((PORT_BASE + 1)) [smd-lean]=$((PORT_BASE + 2)) [smd-nethttp]=$((PORT_BASE + 3)))

rm -rf "$OUT"
mkdir -p "$OUT/wrk" "$OUT/logs"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smd-https.XXXXXX")
chmod 755 "$TMP"
NGINX_USER=""
if [ "$(id -u)" -eq 0 ]; then NGINX_USER="user root;"; fi

# One certificate for every peer.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=127.0.0.1" \
	-addext "subjectAltName=IP:127.0.0.1" -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null || die "openssl req"

# The objects, from a static nginx (lib.sh).
start_objects_origin "$ORIGIN_PORT"

declare -A PEER_PIDS
log "nginx proxy_cache + secure_link over TLS on :${PORT[nginx]}"
mkdir -p "$TMP/ng/cache"
SL_SECRET=$(openssl rand -hex 32)
cat >"$TMP/ng/nginx.conf" <<CONF
$NGINX_USER
worker_processes 1;
pid $TMP/ng/nginx.pid;
error_log $OUT/logs/nginx.error.log warn;
events { worker_connections 4096; }
http {
$(temp_paths "$TMP/ng")
  access_log off;
  keepalive_requests 100000;
  proxy_cache_path $TMP/ng/cache levels=1:2 keys_zone=bench:10m max_size=1g inactive=1h use_temp_path=off;
  upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 32; }
  server {
    listen 127.0.0.1:${PORT[nginx]} ssl http2 backlog=4096;
    ssl_certificate $TMP/cert.pem;
    ssl_certificate_key $TMP/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
    location / {
      secure_link \$arg_md5,\$arg_expires;
      secure_link_md5 "\$secure_link_expires\$uri $SL_SECRET";
      if (\$secure_link = "") { return 403; }
      if (\$secure_link = "0") { return 410; }
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_key \$uri;
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
    }
  }
}
CONF
taskset -c "$PEER_CPU" "$NGINX" -e "$OUT/logs/nginx.error.log" -c "$TMP/ng/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_port "${PORT[nginx]}" "nginx" "${PIDS[-1]}"
PEER_PIDS[nginx]=$(nginx_pids "${PIDS[-1]}")

(
	umask 077
	printf '{"bench_%s": "%s"}\n' "$(openssl rand -hex 10)" "$(openssl rand -hex 64)" >"$TMP/keys.json"
)
for peer in smd-lean smd-nethttp; do
	engine=lean
	if [ "$peer" = smd-nethttp ]; then engine=net/http; fi
	log "smd edge ($engine) over TLS on :${PORT[$peer]}"
	cat >"$TMP/$peer.yaml" <<CONF
id: $peer
listen: ""
admin: {listen: ""}
access_log: {file: ""}
server: {engine: $engine}
tls: {listen: "127.0.0.1:${PORT[$peer]}", cert_file: "$TMP/cert.pem", key_file: "$TMP/key.pem"}
CONF
	env GOMAXPROCS=1 taskset -c "$PEER_CPU" "$SMD" edge --config "$TMP/$peer.yaml" --keys "$TMP/keys.json" \
		--origin "http://127.0.0.1:$ORIGIN_PORT" --log-level warn 2>"$OUT/logs/$peer.log" &
	PIDS+=($!)
	wait_port "${PORT[$peer]}" "$peer" "${PIDS[-1]}"
	PEER_PIDS[$peer]=${PIDS[-1]}
done

smd_url() {
	"$SMD" token sign --keys "$TMP/keys.json" --path / --exp +2h --ip --viewer-ip 127.0.0.1 --ssn --url "https://127.0.0.1:$1$2"
}
sl_url() {
	local exp=$(($(date +%s) + 7200)) md5
	md5=$(printf '%s%s %s' "$exp" "$1" "$SL_SECRET" | openssl md5 -binary | base64 | tr +/ -_ | tr -d =)
	printf 'https://127.0.0.1:%s%s?md5=%s&expires=%s\n' "${PORT[nginx]}" "$1" "$md5" "$exp"
}
declare -A URL
for size in 1k 200k; do
	URL[nginx,$size]=$(sl_url "/o/$size.bin")
	URL[smd-lean,$size]=$(smd_url "${PORT[smd-lean]}" "/o/$size.bin")
	URL[smd-nethttp,$size]=$(smd_url "${PORT[smd-nethttp]}" "/o/$size.bin")
done
PEERS=(nginx smd-lean smd-nethttp)

# expect_https URL STATUS [LENGTH]
expect_https() {
	local got
	got=$(curl -sk --http1.1 -o /dev/null --max-time 10 -w '%{http_code} %{size_download}' "$1") || got="curl-failed"
	if [ "${got%% *}" != "$2" ] || { [ -n "${3:-}" ] && [ "${got#* }" != "$3" ]; }; then
		die "GET ${1%%\?*}...: got '$got', want status $2${3:+ and $3 bytes}"
	fi
}
log "checking every peer (and warming the caches)"
for size in 1k 200k; do
	for peer in "${PEERS[@]}"; do
		expect_https "${URL[$peer,$size]}" 200 "${SIZE[$size]}"
		expect_https "${URL[$peer,$size]}" 200 "${SIZE[$size]}"
	done
done
expect_https "https://127.0.0.1:${PORT[smd-lean]}/o/1k.bin" 401
expect_https "https://127.0.0.1:${PORT[nginx]}/o/1k.bin" 403
for peer in "${PEERS[@]}"; do
	echo | openssl s_client -connect "127.0.0.1:${PORT[$peer]}" -tls1_3 2>/dev/null | grep -E "^(New|Protocol|Cipher)" >"$OUT/logs/$peer.tls.txt" || true
done
ORIGIN_WARM=$(wc -l <"$ORIGIN_LOG")

WRK=(taskset -c "$LOAD_CPU" wrk -t1 "-c$CONNS" --latency)
printf 'peer\tsize\trun\treq/s\tp50_ms\tp99_ms\tcpu_us_per_req\n' >"$OUT/runs.tsv"
declare -A RPS P50 P99 CPU
log "measuring: wrk -t1 -c$CONNS -d$DURATION --latency after a $WARMUP warm-up, $REPS runs per peer and size, alternating"
for size in 1k 200k; do
	for rep in $(seq "$REPS"); do
		for peer in "${PEERS[@]}"; do
			wrk_run "$peer" "$size" "$rep" "${URL[$peer,$size]}"
		done
	done
done
[ "$(wc -l <"$ORIGIN_LOG")" -eq "$ORIGIN_WARM" ] || die "the origin was asked under load: a peer did not serve from its cache"
# First-seen tokens: every request to smd carries a token it has not
# verified yet (TOKENS distinct ones, more than its verified-token cache
# holds, cycled), so each costs a signature check; nginx's secure_link
# computes its MD5 on every request anyway.
TOKENS=${TOKENS:-200000}
log "first-seen: $TOKENS distinct tokens (IP- and session-bound) for smd, 1k, $REPS runs alternating with nginx"
"$BIN/tokens" -keys "$TMP/keys.json" -n "$TOKENS" -ip 127.0.0.1 -path /o/1k.bin >"$TMP/paths.txt" || die "tokens"
cat >"$TMP/first-seen.lua" <<'LUA'
local paths = {}
for line in io.lines(os.getenv("SMD_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
LUA
declare -A FS_RPS FS_P99 FS_CPU
for rep in $(seq "$REPS"); do
	for peer in nginx smd-lean; do
		f=$OUT/wrk/first-seen-$peer-$rep.txt
		# shellcheck disable=SC2086
		t0=$(cpu_ticks ${PEER_PIDS[$peer]})
		if [ "$peer" = nginx ]; then
			run_child "${WRK[@]}" "-d$DURATION" "${URL[nginx,1k]}" >"$f" 2>&1 || die "wrk failed: $(cat "$f")"
		else
			SMD_PATHS=$TMP/paths.txt run_child "${WRK[@]}" "-d$DURATION" -s "$TMP/first-seen.lua" "https://127.0.0.1:${PORT[smd-lean]}" >"$f" 2>&1 ||
				die "wrk failed: $(cat "$f")"
		fi
		# shellcheck disable=SC2086
		t1=$(cpu_ticks ${PEER_PIDS[$peer]})
		if grep -q 'Non-2xx' "$f"; then die "first-seen $peer: non-2xx answers: $(grep Non-2xx "$f")"; fi
		n=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$f")
		FS_RPS[$peer]+="$(awk '$1 == "Requests/sec:" { print $2 }' "$f") "
		FS_P99[$peer]+="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")") "
		FS_CPU[$peer]+="$(awk -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }') "
		printf '    first-seen %-9s run %d: %s\n' "$peer" "$rep" "$(awk '$1 == "Requests/sec:" { print $2 " req/s" }' "$f")" >&2
	done
done

# HTTP/2: h2load (one connection per client, one stream at a time) against
# nginx with http2 and smd (HTTP/2 on net/http, after ALPN).
log "HTTP/2: h2load -c$CONNS -m1 -t1 -D ${DURATION%s} --warm-up-time=${WARMUP%s}, $REPS runs per peer and size"
declare -A H2_RPS H2_MEAN H2_CPU
for size in 1k 200k; do
	for rep in $(seq "$REPS"); do
		for peer in nginx smd-lean; do
			f=$OUT/wrk/h2-$peer-$size-$rep.txt
			# shellcheck disable=SC2086
			t0=$(cpu_ticks ${PEER_PIDS[$peer]})
			run_child taskset -c "$LOAD_CPU" h2load -c"$CONNS" -m1 -t1 -D "${DURATION%s}" --warm-up-time="${WARMUP%s}" "${URL[$peer,$size]}" >"$f" 2>&1 ||
				die "h2load failed: $(cat "$f")"
			# shellcheck disable=SC2086
			t1=$(cpu_ticks ${PEER_PIDS[$peer]})
			grep -q "h2" "$f" || die "h2load did not speak HTTP/2 to $peer: $(cat "$f")"
			bad=$(awk '$1 == "status" && $2 == "codes:" { print $7 + $9 }' "$f")
			n=$(awk '$1 == "requests:" { for (i = 1; i <= NF; i++) if ($i == "succeeded,") print $(i - 1) }' "$f")
			[ "$bad" = 0 ] || die "h2load $peer $size: 4xx or 5xx answers: $(grep 'status codes' "$f")"
			H2_RPS[$peer,$size]+="$(awk '$1 == "finished" { for (i = 1; i <= NF; i++) if ($i == "req/s,") print $(i - 1) }' "$f") "
			H2_MEAN[$peer,$size]+="$(to_ms "$(awk '$1 == "time" && $3 == "request:" { print $6 }' "$f")") "
			H2_CPU[$peer,$size]+="$(awk -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }') "
			printf '    h2 %-9s %-4s run %d: %s\n' "$peer" "$size" "$rep" "$(awk '$1 == "finished" { print $0 }' "$f")" >&2
		done
	done
done


ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
	echo "# smd edge against nginx over HTTPS: results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores; shared machine."
	echo "Load average at the start: $LOAD_START; at the end: $(cut -d" " -f1-3 /proc/loadavg)."
	echo "HTTP/1.1 over TLS 1.3 ($(grep -ho 'Cipher is .*' "$OUT/logs/nginx.tls.txt" | head -1 | sed 's/Cipher is //') on nginx, $(grep -ho 'Cipher is .*' "$OUT/logs/smd-lean.tls.txt" | head -1 | sed 's/Cipher is //') on smd), ECDSA P-256, keep-alive."
	echo "Peers on core $PEER_CPU (GOMAXPROCS=1; 1 nginx worker), wrk on core $LOAD_CPU; medians of $REPS runs of \`wrk -t1 -c$CONNS -d$DURATION --latency\`, peers alternating."
	echo "smd's tokens bound to the viewer's IP and a session; secure_link's bind nothing. $("$NGINX" -v 2>&1); $(go version | cut -d' ' -f3)."
	echo
	echo "| object | peer | requests/s | p50 (ms) | p99 (ms) | CPU µs/request | requests/s of each run |"
	echo "|---|---|---:|---:|---:|---:|---|"
	for size in 1k 200k; do
		for peer in "${PEERS[@]}"; do
			printf '| %s | %s | %.0f | %.3f | %.3f | %.1f | %s|\n' "$size" "$peer" "$(med "${RPS[$peer,$size]}")" \
				"$(med "${P50[$peer,$size]}")" "$(med "${P99[$peer,$size]}")" "$(med "${CPU[$peer,$size]}")" \
				"$(for r in ${RPS[$peer,$size]}; do printf '%.0f ' "$r"; done)"
		done
	done
	echo
	echo "| object | smd-lean / nginx: requests/s | CPU per request | p99 | smd-nethttp / nginx: requests/s |"
	echo "|---|---:|---:|---:|---:|"
	for size in 1k 200k; do
		printf '| %s | %s | %s | %s | %s |\n' "$size" \
			"$(ratio "$(med "${RPS[smd-lean,$size]}")" "$(med "${RPS[nginx,$size]}")")" \
			"$(ratio "$(med "${CPU[smd-lean,$size]}")" "$(med "${CPU[nginx,$size]}")")" \
			"$(ratio "$(med "${P99[smd-lean,$size]}")" "$(med "${P99[nginx,$size]}")")" \
			"$(ratio "$(med "${RPS[smd-nethttp,$size]}")" "$(med "${RPS[nginx,$size]}")")"
	done
	echo
	echo "First-seen tokens (1 KB; every request to smd a token it has not verified, $TOKENS distinct, IP- and session-bound; nginx as above):"
	echo
	echo "| peer | requests/s | p99 (ms) | CPU µs/request |"
	echo "|---|---:|---:|---:|"
	for peer in nginx smd-lean; do
		printf '| %s | %.0f | %.3f | %.1f |\n' "$peer" "$(med "${FS_RPS[$peer]}")" "$(med "${FS_P99[$peer]}")" "$(med "${FS_CPU[$peer]}")"
	done
	echo
	echo "HTTP/2 (h2load -c$CONNS -m1 -t1; nginx with http2, smd on net/http's HTTP/2):"
	echo
	echo "| object | peer | requests/s | mean time per request (ms) | CPU µs/request |"
	echo "|---|---|---:|---:|---:|"
	for size in 1k 200k; do
		for peer in nginx smd-lean; do
			printf '| %s | %s | %.0f | %.3f | %.1f |\n' "$size" "$peer" "$(med "${H2_RPS[$peer,$size]}")" "$(med "${H2_MEAN[$peer,$size]}")" "$(med "${H2_CPU[$peer,$size]}")"
		done
	done
	echo
	echo "Raw outputs: bench/out-https/. Command: \`bench/https.sh\` (DURATION=$DURATION REPS=$REPS CONNS=$CONNS)."
} >"$RESULTS"
log "wrote $RESULTS"
cat "$RESULTS"
