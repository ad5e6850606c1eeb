#!/usr/bin/env bash
# bench/dropin.sh: what smd costs inside the servers operators already run,
# side by side on the same core, in one run. See bench/README.md.
#
#   nginx:    securelink  nginx proxy_cache + secure_link (nginx alone)
#             authreq     nginx proxy_cache + auth_request to smd edge
#                         --mode auth, with deploy/nginx/smd-auth.conf as
#                         documented (access logs off); nginx and smd share
#                         the core, and the CPU of both is counted
#   Caddy:    caddy       Caddy (built with smd's module, caddy/cmd/caddy)
#                         serving the files with file_server
#             caddysmd    the same Caddy with the smd handler before
#                         file_server: the token check in-process
#
# smd's tokens are bound to the viewer's IP and a session (what operators
# issue); nginx's secure_link binds nothing. Every peer serves a 1 KB and a
# 200 KB object from its cache or its disk (the origin is asked once per
# object per nginx peer, while warming). wrk on core LOAD_CPU, every peer
# on core PEER_CPU (GOMAXPROCS=1 for the Go servers, 1 nginx worker);
# medians of REPS runs, peers alternating. Writes bench/dropin-results.md
# (raw outputs in bench/out-dropin/).
#
# Knobs (environment): DURATION=10s WARMUP=2s REPS=3 CONNS=32
# PORT_BASE=(free ports in 37000-37999) PEER_CPU=1 LOAD_CPU=0.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BIN=$BENCH/.bin
OUT=$BENCH/out-dropin
RESULTS=$BENCH/dropin-results.md

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

log "building smd and Caddy with smd's module"
mkdir -p "$BIN"
(cd "$ROOT" && go build -o "$BIN/smd" ./cmd/smd)
(cd "$ROOT/caddy" && go build -o "$BIN/caddy-smd" ./cmd/caddy)
SMD=$BIN/smd
CADDY=$BIN/caddy-smd

pick_port_base 7
ORIGIN_PORT=$PORT_BASE
AUTH_PORT=$((PORT_BASE + 1))
declare -A PORT=([securelink]=$((PORT_BASE + 2)) [authreq]=$((PORT_BASE + 3)) [caddy]=$((PORT_BASE + 4)) [caddysmd]=$((PORT_BASE + 5)))

rm -rf "$OUT"
mkdir -p "$OUT/wrk" "$OUT/logs"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smd-dropin.XXXXXX")
chmod 755 "$TMP"
NGINX_USER=""
if [ "$(id -u)" -eq 0 ]; then NGINX_USER="user root;"; fi

# The objects, served by the origin (for the nginx peers) and from disk
# (for the Caddy peers).
# The objects, from a static nginx (lib.sh).
start_objects_origin "$ORIGIN_PORT"

declare -A PEER_PIDS

# --- securelink
log "nginx proxy_cache + secure_link on :${PORT[securelink]}"
mkdir -p "$TMP/sl/cache"
SL_SECRET=$(openssl rand -hex 32)
cat >"$TMP/sl/nginx.conf" <<CONF
$NGINX_USER
worker_processes 1;
pid $TMP/sl/nginx.pid;
error_log $OUT/logs/securelink.error.log warn;
events { worker_connections 4096; }
http {
$(temp_paths "$TMP/sl")
  access_log off;
  keepalive_requests 100000;
  proxy_cache_path $TMP/sl/cache levels=1:2 keys_zone=bench:10m max_size=1g inactive=1h use_temp_path=off;
  upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 32; }
  server {
    listen 127.0.0.1:${PORT[securelink]} backlog=4096;
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
taskset -c "$PEER_CPU" "$NGINX" -e "$OUT/logs/securelink.error.log" -c "$TMP/sl/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_port "${PORT[securelink]}" "nginx secure_link" "${PIDS[-1]}"
PEER_PIDS[securelink]=$(nginx_pids "${PIDS[-1]}")

# --- authreq: smd --mode auth and nginx with the documented configuration
log "smd edge --mode auth on :$AUTH_PORT and nginx auth_request (deploy/nginx/smd-auth.conf) on :${PORT[authreq]}"
mkdir -p "$TMP/smd" "$TMP/ar/cache"
(
	umask 077
	printf '{"bench_%s": "%s"}\n' "$(openssl rand -hex 10)" "$(openssl rand -hex 64)" >"$TMP/smd/keys.json"
)
env GOMAXPROCS=1 taskset -c "$PEER_CPU" "$SMD" edge --mode auth --listen "127.0.0.1:$AUTH_PORT" --admin-listen "" \
	--keys "$TMP/smd/keys.json" --access-log "" --log-level warn 2>"$OUT/logs/smd-auth.log" &
PIDS+=($!)
wait_port "$AUTH_PORT" "smd --mode auth" "${PIDS[-1]}"
SMD_AUTH_PID=${PIDS[-1]}
sed -e "s#server 127.0.0.1:9000;#server 127.0.0.1:$AUTH_PORT;#" \
	-e "s#server 127.0.0.1:8081;#server 127.0.0.1:$ORIGIN_PORT;#" \
	-e "s#listen 80;#listen 127.0.0.1:${PORT[authreq]} backlog=4096;#" \
	-e "s#/var/cache/nginx/smd#$TMP/ar/cache#" \
	-e "s#access_log /var/log/nginx/smd-access.log smd;#access_log off;#" \
	"$ROOT/deploy/nginx/smd-auth.conf" >"$TMP/ar/smd-auth.conf"
grep -q "access_log off;" "$TMP/ar/smd-auth.conf" || die "deploy/nginx/smd-auth.conf changed: the script's substitutions no longer apply"
cat >"$TMP/ar/nginx.conf" <<CONF
$NGINX_USER
worker_processes 1;
pid $TMP/ar/nginx.pid;
error_log $OUT/logs/authreq.error.log warn;
events { worker_connections 4096; }
http {
$(temp_paths "$TMP/ar")
  keepalive_requests 100000;
  include $TMP/ar/smd-auth.conf;
}
CONF
taskset -c "$PEER_CPU" "$NGINX" -e "$OUT/logs/authreq.error.log" -c "$TMP/ar/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_port "${PORT[authreq]}" "nginx auth_request" "${PIDS[-1]}"
PEER_PIDS[authreq]="$(nginx_pids "${PIDS[-1]}") $SMD_AUTH_PID"
EXTRA_PIDS=$SMD_AUTH_PID # smd's share of authreq (wrk_run's EXTRA_CPU)

# --- Caddy, without and with smd's handler
for peer in caddy caddysmd; do
	handler=""
	if [ "$peer" = caddysmd ]; then handler="smd {
		keys_file $TMP/smd/keys.json
	}"; fi
	cat >"$TMP/$peer.Caddyfile" <<CONF
{
	admin off
	auto_https off
}
http://127.0.0.1:${PORT[$peer]} {
	$handler
	root * $TMP/www
	file_server
}
CONF
	HOME=$TMP XDG_DATA_HOME=$TMP XDG_CONFIG_HOME=$TMP env GOMAXPROCS=1 taskset -c "$PEER_CPU" \
		"$CADDY" run --config "$TMP/$peer.Caddyfile" --adapter caddyfile >"$OUT/logs/$peer.log" 2>&1 &
	PIDS+=($!)
	wait_port "${PORT[$peer]}" "$peer" "${PIDS[-1]}"
	PEER_PIDS[$peer]=${PIDS[-1]}
done

# URLs: smd's tokens bound to 127.0.0.1 and a session; secure_link's md5.
smd_url() {
	"$SMD" token sign --keys "$TMP/smd/keys.json" --path / --exp +2h --ip --viewer-ip 127.0.0.1 --ssn \
		--url "http://127.0.0.1:$1$2"
}
sl_url() {
	local exp=$(($(date +%s) + 7200)) md5
	md5=$(printf '%s%s %s' "$exp" "$1" "$SL_SECRET" | openssl md5 -binary | base64 | tr +/ -_ | tr -d =)
	printf 'http://127.0.0.1:%s%s?md5=%s&expires=%s\n' "${PORT[securelink]}" "$1" "$md5" "$exp"
}
declare -A URL
for size in 1k 200k; do
	URL[securelink,$size]=$(sl_url "/o/$size.bin")
	URL[authreq,$size]=$(smd_url "${PORT[authreq]}" "/o/$size.bin")
	URL[caddy,$size]="http://127.0.0.1:${PORT[caddy]}/o/$size.bin"
	URL[caddysmd,$size]=$(smd_url "${PORT[caddysmd]}" "/o/$size.bin")
done
PEERS=(securelink authreq caddy caddysmd)

log "checking every peer (and warming the nginx caches)"
for size in 1k 200k; do
	for peer in "${PEERS[@]}"; do
		expect "${URL[$peer,$size]}" 200 "${SIZE[$size]}"
		expect "${URL[$peer,$size]}" 200 "${SIZE[$size]}"
	done
done
expect "http://127.0.0.1:${PORT[authreq]}/o/1k.bin" 401
expect "http://127.0.0.1:${PORT[caddysmd]}/o/1k.bin" 401
expect "http://127.0.0.1:${PORT[securelink]}/o/1k.bin" 403
ORIGIN_WARM=$(wc -l <"$ORIGIN_LOG")

WRK=(taskset -c "$LOAD_CPU" wrk -t1 "-c$CONNS" --latency)
printf 'peer\tsize\trun\treq/s\tp50_ms\tp99_ms\tcpu_us_per_req\n' >"$OUT/runs.tsv"
declare -A RPS P50 P99 CPU SMDCPU
log "measuring: wrk -t1 -c$CONNS -d$DURATION --latency after a $WARMUP warm-up, $REPS runs per peer and size, alternating"
for size in 1k 200k; do
	for rep in $(seq "$REPS"); do
		for peer in "${PEERS[@]}"; do
			wrk_run "$peer" "$size" "$rep" "${URL[$peer,$size]}"
			if [ "$peer" = authreq ]; then SMDCPU[$size]+="$EXTRA_CPU "; fi
		done
	done
done
[ "$(wc -l <"$ORIGIN_LOG")" -eq "$ORIGIN_WARM" ] || die "the origin was asked under load: an nginx peer did not serve from its cache"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
	echo "# smd inside nginx and Caddy: results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores; shared machine."
	echo "Load average at the start: $LOAD_START; at the end: $(cut -d" " -f1-3 /proc/loadavg)."
	echo "Peers on core $PEER_CPU (GOMAXPROCS=1; 1 nginx worker; for authreq nginx and smd share it), wrk on core $LOAD_CPU."
	echo "Medians of $REPS runs of \`wrk -t1 -c$CONNS -d$DURATION --latency\` (each after a $WARMUP warm-up), peers alternating."
	echo "smd's tokens bound to the viewer's IP and a session; secure_link's bind nothing. $("$NGINX" -v 2>&1); $("$CADDY" version | cut -d' ' -f1) with smd's module; $(go version | cut -d' ' -f3)."
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
	echo "| object | nginx+auth_request / nginx secure_link: requests/s | CPU per request | Caddy+smd / Caddy: requests/s | CPU per request |"
	echo "|---|---:|---:|---:|---:|"
	for size in 1k 200k; do
		printf '| %s | %s | %s | %s | %s |\n' "$size" \
			"$(ratio "$(med "${RPS[authreq,$size]}")" "$(med "${RPS[securelink,$size]}")")" \
			"$(ratio "$(med "${CPU[authreq,$size]}")" "$(med "${CPU[securelink,$size]}")")" \
			"$(ratio "$(med "${RPS[caddysmd,$size]}")" "$(med "${RPS[caddy,$size]}")")" \
			"$(ratio "$(med "${CPU[caddysmd,$size]}")" "$(med "${CPU[caddy,$size]}")")"
	done
	echo
	echo "Of authreq's CPU per request, smd's (the rest is nginx's): $(for size in 1k 200k; do printf '%s %.1f µs of %.1f; ' "$size" "$(med "${SMDCPU[$size]}")" "$(med "${CPU[authreq,$size]}")"; done)"
	echo
	echo "Raw wrk outputs: bench/out-dropin/. Command: \`bench/dropin.sh\` (DURATION=$DURATION REPS=$REPS CONNS=$CONNS)."
} >"$RESULTS"
log "wrote $RESULTS"
cat "$RESULTS"
