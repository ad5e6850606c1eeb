#!/usr/bin/env bash
# bench/run.sh: smd edge against nginx (proxy_cache + secure_link), side by
# side on the same core, in one run. See bench/README.md.
#
#   1. installs wrk and nginx if missing (apt-get), builds smd and bench/burst;
#   2. starts an origin (static nginx) serving a 1 KB and a 200 KB object
#      with Cache-Control: max-age=3600, and a throttled directory for the
#      cold-burst test;
#   3. starts the two peers in front of it, both pinned to core PEER_CPU:
#      smd edge (GOMAXPROCS=1, SMDE token check) and nginx (one worker,
#      proxy_cache, secure_link); checks that each answers 200 with the right
#      body to a valid token and refuses a request without one;
#   4. measures requests/s, p50 and p99 with wrk (pinned to core LOAD_CPU)
#      for each peer and object size, REPS times, alternating the peers, and
#      keeps the medians;
#   5. fires BURST_N concurrent requests for an object neither peer has
#      cached yet and counts the origin requests it cost;
#   6. profiles smd under the 1 KB load (PROFILE=1) and writes
#      bench/results.md (raw outputs in bench/out/).
#
# Everything listens on 127.0.0.1, on ports PORT_BASE..PORT_BASE+3: by
# default 4 ports in 37000-37999 that no socket uses (that range is also
# the kernel's ephemeral range, so client connections may hold any of
# them). Every process the script starts is stopped on exit.
# Knobs (environment): DURATION=10s WARMUP=2s REPS=5 CONNS=32 BURST_N=1000
# PROFILE=1 PORT_BASE=(free ports in 37000-37999) PEER_CPU=1 LOAD_CPU=0
# ENGINE=lean (smd's server.engine: lean or net/http).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BIN=$BENCH/.bin
OUT=$BENCH/out
RESULTS=$BENCH/results.md

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
REPS=${REPS:-5}
CONNS=${CONNS:-32}
BURST_N=${BURST_N:-1000}
BURST_TIMEOUT=${BURST_TIMEOUT:-30s}
PROFILE=${PROFILE:-1}
PROFILE_SECONDS=${PROFILE_SECONDS:-10}
PORT_BASE=${PORT_BASE:-}
PEER_CPU=${PEER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
ENGINE=${ENGINE:-lean}

# Sizes of the measured objects and of the cold-burst object, and how fast
# the origin sends the latter (so its fetch spans the whole burst).
SIZE_1K=1024
SIZE_200K=204800
SIZE_BURST=1048576
BURST_RATE_MB=4
BURST_RATE=${BURST_RATE_MB}m

T_START=$(date +%s)
LOAD_START=$(cut -d" " -f1-3 /proc/loadavg)

# log, die, the exit trap (PIDS, CHILD, TMP), run_child, ensure_tools, ports,
# wait_port, temp_paths, expect, to_ms, cpu_ticks, core_snap, core_busy, median.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$BENCH/lib.sh"

# ---------------------------------------------------------------- 1. tools
ensure_tools
command -v go >/dev/null || die "go is not on the PATH"
[ "$(nproc)" -ge 2 ] || die "needs 2 cores (peers on core $PEER_CPU, load on core $LOAD_CPU)"

log "building smd and burst"
mkdir -p "$BIN"
(cd "$ROOT" && go build -o "$BIN/smd" ./cmd/smd && go build -o "$BIN/burst" ./bench/burst)
SMD=$BIN/smd
BURST=$BIN/burst

pick_port_base 4
ORIGIN_PORT=$PORT_BASE
SMD_PORT=$((PORT_BASE + 1))
SMD_ADMIN_PORT=$((PORT_BASE + 2))
NGINX_PORT=$((PORT_BASE + 3))

rm -rf "$OUT"
mkdir -p "$OUT/wrk" "$OUT/logs"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smd-bench.XXXXXX")
chmod 755 "$TMP"
NGINX_USER=""
if [ "$(id -u)" -eq 0 ]; then NGINX_USER="user root;"; fi

# ---------------------------------------------------------------- 2. origin
log "origin: static nginx on 127.0.0.1:$ORIGIN_PORT"
mkdir -p "$TMP/www/o" "$TMP/www/burst" "$TMP/origin"
head -c "$SIZE_1K" /dev/urandom >"$TMP/www/o/1k.bin"
head -c "$SIZE_200K" /dev/urandom >"$TMP/www/o/200k.bin"
head -c "$SIZE_BURST" /dev/urandom >"$TMP/www/burst/smd.bin"
cp "$TMP/www/burst/smd.bin" "$TMP/www/burst/nginx.bin"
ORIGIN_LOG=$OUT/logs/origin.access.log
: >"$ORIGIN_LOG"

cat >"$TMP/origin/nginx.conf" <<EOF
$NGINX_USER
worker_processes 1;
worker_rlimit_nofile 8192;
pid $TMP/origin/nginx.pid;
error_log $OUT/logs/origin.error.log warn;
events { worker_connections 4096; }
http {
$(temp_paths "$TMP/origin")
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  log_format bench '\$uri \$status \$body_bytes_sent';
  # Every origin request is logged: the run counts them per path.
  access_log $ORIGIN_LOG bench;
  server {
    listen 127.0.0.1:$ORIGIN_PORT backlog=4096;
    root $TMP/www;
    add_header Cache-Control "max-age=3600";
    # The cold-burst objects come slowly, like a distant origin, so that
    # the whole burst arrives while the first fetch is in flight.
    location /burst/ { limit_rate $BURST_RATE; }
  }
}
EOF
"$NGINX" -t -q -e "$OUT/logs/origin.error.log" -c "$TMP/origin/nginx.conf" || die "origin nginx config"
"$NGINX" -e "$OUT/logs/origin.error.log" -c "$TMP/origin/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_port "$ORIGIN_PORT" "origin nginx" "${PIDS[-1]}"

# origin_count PATH: how many times the origin was asked for PATH.
origin_count() { awk -v p="$1" '$1 == p { n++ } END { print n + 0 }' "$ORIGIN_LOG"; }

# ---------------------------------------------------------------- 3. peers
# smd edge: one route "/" to the origin, no access log (the same work as
# nginx with access_log off), pprof on the admin listener for step 6.
log "smd edge ($ENGINE) on 127.0.0.1:$SMD_PORT (admin $SMD_ADMIN_PORT), core $PEER_CPU, GOMAXPROCS=1"
mkdir -p "$TMP/smd"
(
	umask 077
	printf '{"bench_%s": "%s"}\n' "$(openssl rand -hex 10)" "$(openssl rand -hex 64)" >"$TMP/smd/keys.json"
)
cat >"$TMP/smd/edge.yaml" <<EOF
id: bench
admin: {pprof: true}
access_log: {file: ""}
server: {engine: $ENGINE}
EOF
SMD_CMD=(env GOMAXPROCS=1 taskset -c "$PEER_CPU" "$SMD" edge --config "$TMP/smd/edge.yaml"
	--listen "127.0.0.1:$SMD_PORT" --admin-listen "127.0.0.1:$SMD_ADMIN_PORT"
	--keys "$TMP/smd/keys.json" --origin "http://127.0.0.1:$ORIGIN_PORT" --log-level warn)
"${SMD_CMD[@]}" 2>"$OUT/logs/smd.log" &
PIDS+=($!)
wait_port "$SMD_PORT" "smd edge" "${PIDS[-1]}"
wait_port "$SMD_ADMIN_PORT" "smd edge admin" "${PIDS[-1]}"
declare -A PEER_PIDS
PEER_PIDS[smd]=${PIDS[-1]}

# smd_url PATH: a playback URL with a valid token (no viewer binding, so
# wrk can replay it).
smd_url() {
	"$SMD" token sign --keys "$TMP/smd/keys.json" --path / --exp +2h --url "http://127.0.0.1:$SMD_PORT$1"
}

log "nginx proxy_cache + secure_link on 127.0.0.1:$NGINX_PORT, core $PEER_CPU, 1 worker"
mkdir -p "$TMP/nginx/cache"
NGINX_SECRET=$(openssl rand -hex 32)
cat >"$TMP/nginx/nginx.conf" <<EOF
$NGINX_USER
worker_processes 1;
worker_rlimit_nofile 8192;
pid $TMP/nginx/nginx.pid;
error_log $OUT/logs/nginx.error.log warn;
events { worker_connections 4096; }
http {
$(temp_paths "$TMP/nginx")
  default_type application/octet-stream;
  sendfile on;
  # No tcp_nopush: with it (TCP_CORK around sendfile) this nginx served
  # half the 200 KB requests/s over loopback at twice the CPU per request
  # (9,900 against 17,500 requests/s, 100 against 57 µs), which made
  # smd look 2.4 times faster than nginx on 200 KB (BENCHMARKS.md).
  access_log off;
  keepalive_requests 100000;
  proxy_cache_path $TMP/nginx/cache levels=1:2 keys_zone=bench:10m max_size=1g inactive=1h use_temp_path=off;
  upstream origin {
    server 127.0.0.1:$ORIGIN_PORT;
    keepalive 128;
  }
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location / {
      secure_link \$arg_md5,\$arg_expires;
      secure_link_md5 "\$secure_link_expires\$uri $NGINX_SECRET";
      if (\$secure_link = "") { return 403; }
      if (\$secure_link = "0") { return 410; }
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache bench;
      proxy_cache_key \$scheme\$proxy_host\$uri;
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
    }
  }
}
EOF
"$NGINX" -t -q -e "$OUT/logs/nginx.error.log" -c "$TMP/nginx/nginx.conf" || die "nginx config"
taskset -c "$PEER_CPU" "$NGINX" -e "$OUT/logs/nginx.error.log" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_port "$NGINX_PORT" "nginx" "${PIDS[-1]}"
# The master and its worker: the CPU time of both is counted.
PEER_PIDS[nginx]="${PIDS[-1]} $(ps -o pid=,args= --ppid "${PIDS[-1]}" | awk '/worker process/ { print $1 }')"
[ "$(wc -w <<<"${PEER_PIDS[nginx]}")" -eq 2 ] || die "cannot find the nginx worker"

# nginx_url PATH [EXPIRES]: a URL with a valid secure_link md5 and expiry.
nginx_url() {
	local exp=${2:-$(($(date +%s) + 7200))} md5
	md5=$(printf '%s%s %s' "$exp" "$1" "$NGINX_SECRET" | openssl md5 -binary | base64 | tr +/ -_ | tr -d =)
	printf 'http://127.0.0.1:%s%s?md5=%s&expires=%s\n' "$NGINX_PORT" "$1" "$md5" "$exp"
}

declare -A URL
URL[smd,1k]=$(smd_url /o/1k.bin)
URL[smd,200k]=$(smd_url /o/200k.bin)
URL[nginx,1k]=$(nginx_url /o/1k.bin)
URL[nginx,200k]=$(nginx_url /o/200k.bin)
declare -A SIZE=([1k]=$SIZE_1K [200k]=$SIZE_200K)

log "checking both peers (and warming their caches)"
for size in 1k 200k; do
	for peer in smd nginx; do
		expect "${URL[$peer,$size]}" 200 "${SIZE[$size]}" # miss: fetched and stored
		expect "${URL[$peer,$size]}" 200 "${SIZE[$size]}" # hit
	done
	[ "$(origin_count "/o/$size.bin")" -eq 2 ] ||
		die "/o/$size.bin: $(origin_count "/o/$size.bin") origin requests while warming, want 2 (one per peer)"
done
tok=${URL[smd,1k]#http://*/}
tok=${tok%%/*}
last=${tok: -1}
if [ "$last" = A ]; then last=B; else last=A; fi
expect "http://127.0.0.1:$SMD_PORT/o/1k.bin" 401              # no token
expect "http://127.0.0.1:$SMD_PORT/${tok%?}$last/o/1k.bin" 401 # signature changed
expect "http://127.0.0.1:$NGINX_PORT/o/1k.bin" 403            # no md5
bad=$(nginx_url /o/1k.bin)
expect "${bad/md5=/md5=A}" 403                            # md5 changed
expect "$(nginx_url /o/1k.bin $(($(date +%s) - 10)))" 410 # expired
curl -s -D "$OUT/logs/smd.headers" -o /dev/null "${URL[smd,1k]}"
curl -s -D "$OUT/logs/nginx.headers" -o /dev/null "${URL[nginx,1k]}"

# ---------------------------------------------------------------- 4. wrk
WRK=(taskset -c "$LOAD_CPU" wrk -t1 "-c$CONNS" --latency)

printf 'peer\tsize\trun\treq/s\tp50_ms\tp99_ms\tcpu_us_per_req\tpeer_core_share_pct\tload_core_busy_pct\tpeer_core_busy_pct\n' >"$OUT/runs.tsv"

declare -A RPS P50 P99 CPU SHARE
log "measuring: wrk -t1 -c$CONNS -d$DURATION --latency after a $WARMUP warm-up, $REPS runs per peer and size, alternating"
for size in 1k 200k; do
	for rep in $(seq "$REPS"); do
		for peer in smd nginx; do
			f=$OUT/wrk/$peer-$size-$rep.txt
			run_child "${WRK[@]}" "-d$WARMUP" "${URL[$peer,$size]}" >"$OUT/wrk/$peer-$size-$rep.warmup.txt" 2>&1 ||
				die "wrk warm-up failed: $(cat "$OUT/wrk/$peer-$size-$rep.warmup.txt")"
			# shellcheck disable=SC2086 # PEER_PIDS holds a list
			t0=$(cpu_ticks ${PEER_PIDS[$peer]})
			c0=$(core_snap)
			run_child "${WRK[@]}" "-d$DURATION" "${URL[$peer,$size]}" >"$f" 2>&1 || die "wrk failed: $(cat "$f")"
			# shellcheck disable=SC2086
			t1=$(cpu_ticks ${PEER_PIDS[$peer]})
			read -r busy_load busy_peer <<<"$(core_busy "$c0" "$(core_snap)")"
			if grep -q 'Non-2xx' "$f"; then die "$peer $size: non-2xx answers under load: $(grep Non-2xx "$f")"; fi
			rps=$(awk '$1 == "Requests/sec:" { print $2 }' "$f")
			p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")
			p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")
			[ -n "$rps" ] || die "no Requests/sec in $f"
			n=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$f")
			secs=$(awk '$2 == "requests" && $3 == "in" { print $4 + 0 }' "$f")
			# CPU time the peer spent per request, and its share of its core.
			cpu=$(awk -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
			share=$(awk -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.0f", 100 * t / hz / s }')
			CPU[$peer,$size]+="$cpu "
			SHARE[$peer,$size]+="$share "
			RPS[$peer,$size]+="$rps "
			P50[$peer,$size]+="$p50 "
			P99[$peer,$size]+="$p99 "
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$peer" "$size" "$rep" "$rps" "$p50" "$p99" "$cpu" "$share" \
				"$busy_load" "$busy_peer" >>"$OUT/runs.tsv"
			printf '    %-5s %-4s run %d: %8.0f req/s  p50 %7.3f ms  p99 %8.3f ms  %6.2f us CPU/req  %3d%% of a core (cores busy: load %d%%, peer %d%%)%s\n' \
				"$peer" "$size" "$rep" "$rps" "$p50" "$p99" "$cpu" "$share" "$busy_load" "$busy_peer" \
				"$(grep -o 'Socket errors.*' "$f" | sed 's/^/  /' || true)" >&2
		done
	done
	[ "$(origin_count "/o/$size.bin")" -eq 2 ] ||
		die "/o/$size.bin: the origin was asked again under load: a peer did not serve from its cache"
done

# ---------------------------------------------------------------- 5. burst
# smd_metric NAME: the value of a metric without labels, from smd's admin listener.
smd_metric() {
	curl -s --max-time 5 "http://127.0.0.1:$SMD_ADMIN_PORT/metrics" |
		awk -v m="$1" '$1 == m { printf "%.0f\n", $2 }'
}
smd_fetches() { smd_metric smd_edge_origin_fetches_total; }
declare -A B_LINE B_ORIGIN
log "cold burst: $BURST_N concurrent GETs of a 1 MiB object neither peer holds (origin sends it at $BURST_RATE/s)"
before=$(smd_fetches)
hits0=$(smd_metric smd_edge_cache_hits_total)
miss0=$(smd_metric smd_edge_cache_misses_total)
coal0=$(smd_metric smd_edge_cache_coalesced_total)
run_child taskset -c "$LOAD_CPU" "$BURST" -url "$(smd_url /burst/smd.bin)" -n "$BURST_N" -timeout "$BURST_TIMEOUT" \
	>"$OUT/burst-smd.txt" 2>&1 || die "burst against smd: $(cat "$OUT/burst-smd.txt")"
after=$(smd_fetches)
# How smd answered the burst: the request that started the fetch (miss), the
# ones that joined it while in flight (coalesced), the ones after it (hits).
SMD_BURST_SPLIT="$(($(smd_metric smd_edge_cache_misses_total) - miss0)) miss, $(($(smd_metric smd_edge_cache_coalesced_total) - coal0)) coalesced, $(($(smd_metric smd_edge_cache_hits_total) - hits0)) hits"
B_LINE[smd]=$(cat "$OUT/burst-smd.txt")
B_ORIGIN[smd]=$(origin_count /burst/smd.bin)
SMD_METRIC_DELTA=$((after - before))
run_child taskset -c "$LOAD_CPU" "$BURST" -url "$(nginx_url /burst/nginx.bin)" -n "$BURST_N" -timeout "$BURST_TIMEOUT" \
	>"$OUT/burst-nginx.txt" 2>&1 || die "burst against nginx: $(cat "$OUT/burst-nginx.txt")"
B_LINE[nginx]=$(cat "$OUT/burst-nginx.txt")
B_ORIGIN[nginx]=$(origin_count /burst/nginx.bin)
printf '    smd:   %s; origin requests %s (metrics: +%s)\n    nginx: %s; origin requests %s\n' \
	"${B_LINE[smd]}" "${B_ORIGIN[smd]}" "$SMD_METRIC_DELTA" "${B_LINE[nginx]}" "${B_ORIGIN[nginx]}" >&2
log "smd answered the burst with $SMD_BURST_SPLIT"

# field LINE NAME: NAME=value from a burst summary line.
field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# ---------------------------------------------------------------- 6. profile
if [ "$PROFILE" = 1 ]; then
	log "profiling smd for ${PROFILE_SECONDS}s under the 1k load (not a measured run)"
	m0=$(smd_metric go_memstats_mallocs_total)
	b0=$(smd_metric go_memstats_alloc_bytes_total)
	g0=$(smd_metric go_gc_duration_seconds_count)
	curl -s --max-time 10 -o "$OUT/edge-allocs-0.pprof" "http://127.0.0.1:$SMD_ADMIN_PORT/debug/pprof/allocs"
	"${WRK[@]}" "-d$((PROFILE_SECONDS + 3))s" "${URL[smd,1k]}" >"$OUT/wrk/smd-1k-profile.txt" 2>&1 &
	CHILD=$!
	sleep 1
	curl -s --max-time $((PROFILE_SECONDS + 15)) -o "$OUT/edge-cpu.pprof" \
		"http://127.0.0.1:$SMD_ADMIN_PORT/debug/pprof/profile?seconds=$PROFILE_SECONDS" || die "pprof fetch"
	wait "$CHILD" || true
	CHILD=""
	curl -s --max-time 10 -o "$OUT/edge-allocs-1.pprof" "http://127.0.0.1:$SMD_ADMIN_PORT/debug/pprof/allocs"
	m1=$(smd_metric go_memstats_mallocs_total)
	b1=$(smd_metric go_memstats_alloc_bytes_total)
	g1=$(smd_metric go_gc_duration_seconds_count)
	n=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$OUT/wrk/smd-1k-profile.txt")
	PROF_RPS=$(awk '$1 == "Requests/sec:" { printf "%.0f", $2 }' "$OUT/wrk/smd-1k-profile.txt")
	ALLOCS_PER_REQ=$(awk -v a="$((m1 - m0))" -v n="$n" 'BEGIN { printf "%.1f", a / n }')
	BYTES_PER_REQ=$(awk -v a="$((b1 - b0))" -v n="$n" 'BEGIN { printf "%.0f", a / n }')
	GC_PER_10K=$(awk -v a="$((g1 - g0))" -v n="$n" 'BEGIN { printf "%.2f", a * 10000 / n }')
	go tool pprof -top -nodecount=40 "$SMD" "$OUT/edge-cpu.pprof" >"$OUT/edge-cpu-top.txt" 2>/dev/null || die "go tool pprof"
	go tool pprof -top -cum -nodecount=60 "$SMD" "$OUT/edge-cpu.pprof" >"$OUT/edge-cpu-cum.txt" 2>/dev/null || true
	# What allocated during that run: the difference of two allocs profiles.
	go tool pprof -sample_index=alloc_objects -top -nodecount=30 -diff_base "$OUT/edge-allocs-0.pprof" \
		"$SMD" "$OUT/edge-allocs-1.pprof" >"$OUT/edge-allocs-top.txt" 2>/dev/null || true
fi

# ---------------------------------------------------------------- results
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
NGINX_V=$("$NGINX" -v 2>&1)
WRK_V=$(wrk --version 2>&1 | head -1 || true)
GO_V=$(go version)
SMD_V=$("$SMD" version)
SRC="the source tree"
if git -C "$ROOT" rev-parse --short HEAD >/dev/null 2>&1; then
	SRC="commit $(git -C "$ROOT" rev-parse --short HEAD)"
	dirty=$(git -C "$ROOT" status --porcelain -- cmd internal token go.mod go.sum | awk '{ print $2 }' | tr '\n' ' ')
	if [ -n "$dirty" ]; then SRC+=" with uncommitted changes in: ${dirty% }"; fi
fi
MET() { if awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; then echo "**met**"; else echo "**not met**"; fi; }

{
	echo "# smd edge against nginx: results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $CPU_MODEL, $(nproc) cores, $(uname -sr); shared machine."
	echo "Load average (1, 5, 15 min) at the start: $LOAD_START; at the end: $(cut -d" " -f1-3 /proc/loadavg)."
	echo "Peers pinned to core $PEER_CPU (smd GOMAXPROCS=1, server.engine $ENGINE; nginx 1 worker), wrk and burst to core $LOAD_CPU."
	echo "Medians of $REPS runs of \`wrk -t1 -c$CONNS -d$DURATION --latency\` (each after a $WARMUP warm-up), peers alternating."
	echo "Both caches warm: the origin saw no request during the measured runs. smd runs with its"
	echo "access log off (\`access_log.file\` empty), as nginx runs with \`access_log off\`."
	echo
	echo "| object | peer | requests/s | best run | p50 (ms) | p99 (ms) | CPU µs/request | peer's share of its core | requests/s of each run |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
	for size in 1k 200k; do
		for peer in smd nginx; do
			printf '| %s | %s | %.0f | %.0f | %.3f | %.3f | %.1f | %.0f%% | %s|\n' "$size" "$peer" \
				"$(med "${RPS[$peer,$size]}")" "$(best "${RPS[$peer,$size]}")" \
				"$(med "${P50[$peer,$size]}")" "$(med "${P99[$peer,$size]}")" \
				"$(med "${CPU[$peer,$size]}")" "$(med "${SHARE[$peer,$size]}")" \
				"$(for r in ${RPS[$peer,$size]}; do printf '%.0f ' "$r"; done)"
		done
	done
	echo
	echo "| object | smd/nginx requests/s (medians) | smd/nginx (best runs) | smd/nginx per CPU second (nginx µs / smd µs per request) | shares of core 1, smd / nginx (medians) | target >= 1.0 (medians / per CPU) |"
	echo "|---|---:|---:|---:|---:|---|"
	WARN=""
	for size in 1k 200k; do
		ratio=$(awk -v a="$(med "${RPS[smd,$size]}")" -v b="$(med "${RPS[nginx,$size]}")" 'BEGIN { printf "%.2f", a / b }')
		bratio=$(awk -v a="$(best "${RPS[smd,$size]}")" -v b="$(best "${RPS[nginx,$size]}")" 'BEGIN { printf "%.2f", a / b }')
		cratio=$(awk -v a="$(med "${CPU[nginx,$size]}")" -v b="$(med "${CPU[smd,$size]}")" 'BEGIN { printf "%.2f", a / b }')
		ss=$(med "${SHARE[smd,$size]}")
		sn=$(med "${SHARE[nginx,$size]}")
		target="(none)"
		if [ "$size" = 1k ]; then target="$(MET "$ratio" 1.0) / $(MET "$cratio" 1.0)"; fi
		printf '| %s | %s | %s | %s | %.0f%% / %.0f%% |  %s |\n' "$size" "$ratio" "$bratio" "$cratio" "$ss" "$sn" "$target"
		if awk -v a="$ss" -v b="$sn" 'BEGIN { d = a - b; exit !(d > 15 || d < -15) }'; then
			WARN+="$size: smd got $(printf '%.0f' "$ss")% of core 1 and nginx $(printf '%.0f' "$sn")% (medians). "
		fi
	done
	echo
	if [ -n "$WARN" ]; then
		echo "**Warning: unequal shares of the core.** $WARN"
		echo "Other processes took core 1 from the peers unevenly, so the requests/s ratio measures the"
		echo "machine's scheduler more than the peers: judge these sizes by the per-CPU ratio and the best runs."
		echo
	fi
	echo "CPU µs/request is the peer's user + system CPU time (smd; nginx master + worker) during a run"
	echo "divided by its requests: unlike requests/s it hardly depends on what else runs on the core."
	echo "A share of the core below 100% means other processes of the machine took the rest."
	echo
	echo "Cold burst: $BURST_N concurrent GETs (one connection each, released together) of one 1 MiB"
	echo "object the peer has not cached; the origin sends it at $BURST_RATE bytes/s (about $((SIZE_BURST * 1000 / (BURST_RATE_MB * 1048576))) ms)."
	echo
	echo "| peer | 200 answers | origin requests (origin log) | origin fetches (smd metrics) | p50 (ms) | p99 (ms) | target: 1 origin request |"
	echo "|---|---:|---:|---:|---:|---:|---|"
	for peer in smd nginx; do
		l=${B_LINE[$peer]}
		m="-"
		if [ "$peer" = smd ]; then m=$SMD_METRIC_DELTA; fi
		t="(peer)"
		if [ "$peer" = smd ]; then
			if [ "${B_ORIGIN[smd]}" -eq 1 ] && [ "$m" -eq 1 ]; then t="**met**"; else t="**not met**"; fi
		fi
		printf '| %s | %s/%s | %s | %s | %s | %s | %s |\n' "$peer" "$(field "$l" ok)" "$(field "$l" requests)" \
			"${B_ORIGIN[$peer]}" "$m" "$(field "$l" p50_ms)" "$(field "$l" p99_ms)" "$t"
	done
	echo
	echo "smd answered the burst with $SMD_BURST_SPLIT (its cache metrics)."
	echo
	echo "Versions: $SMD_V, built from $SRC; $GO_V; $NGINX_V; $WRK_V."
	echo
	echo "Commands:"
	echo
	echo '```sh'
	echo "bash bench/run.sh   # DURATION=$DURATION WARMUP=$WARMUP REPS=$REPS CONNS=$CONNS BURST_N=$BURST_N ENGINE=$ENGINE"
	echo "GOMAXPROCS=1 taskset -c $PEER_CPU smd edge --config edge.yaml --listen 127.0.0.1:$SMD_PORT --admin-listen 127.0.0.1:$SMD_ADMIN_PORT \\"
	echo "    --keys keys.json --origin http://127.0.0.1:$ORIGIN_PORT --log-level warn   # edge.yaml: {id: bench, admin: {pprof: true}, access_log: {file: \"\"}, server: {engine: $ENGINE}}"
	echo "taskset -c $PEER_CPU nginx -c nginx.conf -g 'daemon off;'   # proxy_cache + secure_link + proxy_cache_lock, see bench/run.sh"
	echo "smd token sign --keys keys.json --path / --exp +2h --url http://127.0.0.1:$SMD_PORT/o/1k.bin"
	echo "taskset -c $LOAD_CPU wrk -t1 -c$CONNS -d$WARMUP --latency URL   # warm-up, then:"
	echo "taskset -c $LOAD_CPU wrk -t1 -c$CONNS -d$DURATION --latency URL"
	echo "taskset -c $LOAD_CPU bench/.bin/burst -url URL -n $BURST_N -timeout $BURST_TIMEOUT"
	if [ "$PROFILE" = 1 ]; then
		echo "curl -o edge-cpu.pprof 'http://127.0.0.1:$SMD_ADMIN_PORT/debug/pprof/profile?seconds=$PROFILE_SECONDS'   # during wrk on smd 1k"
		echo "go tool pprof -top smd edge-cpu.pprof"
	fi
	echo '```'
	if [ "$PROFILE" = 1 ]; then
		echo
		echo "smd CPU profile under the 1 KB load (${PROFILE_SECONDS}s, flat, top 25; bench/out/edge-cpu-*.txt has more)."
		echo "During it: $PROF_RPS requests/s (pprof on); per request $ALLOCS_PER_REQ heap allocations, $BYTES_PER_REQ bytes;"
		echo "$GC_PER_10K GC cycles per 10,000 requests (bench/out/edge-allocs-top.txt: what allocates)."
		echo
		echo '```text'
		sed -n '/flat%/,$p' "$OUT/edge-cpu-top.txt" | head -26
		echo '```'
	fi
	echo
	echo "Whole run: $(($(date +%s) - T_START)) s."
} >"$OUT/results.md"
cp "$OUT/results.md" "$RESULTS"
echo
cat "$RESULTS"
