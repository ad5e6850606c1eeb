#!/usr/bin/env bash
# bench/publish.sh: what publishing access events costs the edge (issue 5:
# <= 5% of its throughput), measured with the edge load benchmark, the access
# stream on and off. See bench/README.md.
#
#   1. builds smd; starts an origin (static nginx, the 1 KB object of
#      bench/run.sh) and `smd serve --nats-listen` pinned to core LOAD_CPU:
#      the control plane and the NATS server (JetStream, the SMD_ACCESS
#      stream); creates an asset for the object with the admin API key
#      (token policy: paths and exp only, so wrk can replay one URL) and gets
#      its playback URL from GET /v1/token with the issuer key;
#   2. starts two `smd edge --nats` pinned to core PEER_CPU (GOMAXPROCS=1,
#      the serve's master key, access log off), identical but for the access
#      stream: "on" (the default with NATS) and "off"
#      (SMD_EDGE_ACCESS_STREAM_ENABLED=false); waits until both are ready and
#      answer 200 to the playback URL (warm cache);
#   3. wrk pinned to core LOAD_CPU (with the NATS server) against one edge at
#      a time, alternating on/off, REPS runs each; per run: requests/s,
#      p50/p99, the edge's CPU time per request and share of its core (from
#      /proc/<pid>/stat), and for "on" the events the stream acknowledged
#      (smd_edge_access_stream_published_total) against the requests served;
#   4. profiles both edges under the same load (PROFILE=1: CPU and
#      allocations) and writes bench/out/publish/results.md (medians, on/off
#      ratios, the verdict, the publishing path's top entries).
#
# The idle edge stays up while the other is measured; it uses next to no CPU.
# Everything listens on 127.0.0.1, on ports PORT_BASE..PORT_BASE+7 (by
# default 8 free ports in 37000-37999). Every process the script starts is
# stopped on exit. Knobs (environment): DURATION=10s WARMUP=2s REPS=5 CONNS=128
# PROFILE=1 PROFILE_SECONDS=10 PORT_BASE= PEER_CPU=1 LOAD_CPU=0 ENGINE=lean
# DETECTOR=0 (1: the serve's detector reads the stream, on core LOAD_CPU).
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BIN=$BENCH/.bin
OUT=$BENCH/out/publish

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
REPS=${REPS:-5}
# 128 connections keep both edges saturated (99-100% of their core). With
# 32, the "on" edge idled about 2% of the time, because wrk shares its core
# with the NATS server that stores the events: an edge that idles pays its
# wake-ups (netpoll, futex) over fewer requests, so its CPU time per request
# is no longer its cost at full load (bench/README.md).
CONNS=${CONNS:-128}
PROFILE=${PROFILE:-1}
PROFILE_SECONDS=${PROFILE_SECONDS:-10}
PORT_BASE=${PORT_BASE:-}
PEER_CPU=${PEER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
ENGINE=${ENGINE:-lean}
DETECTOR=${DETECTOR:-0}
TARGET_PCT=5 # the most publishing may cost, in % of requests per CPU second
SIZE_1K=1024

T_START=$(date +%s)
LOAD_START=$(cut -d" " -f1-3 /proc/loadavg)
DATE_START=$(date -u '+%Y-%m-%d %H:%M UTC')

# log, die, the exit trap (PIDS, CHILD, TMP), run_child, ensure_tools, ports,
# wait_port, temp_paths, expect, to_ms, cpu_ticks, core_snap, core_busy, median.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$BENCH/lib.sh"

# ---------------------------------------------------------------- 1. setup
ensure_tools
command -v go >/dev/null || die "go is not on the PATH"
[ "$(nproc)" -ge 2 ] || die "needs 2 cores (edges on core $PEER_CPU, wrk and NATS on core $LOAD_CPU)"

log "building smd"
mkdir -p "$BIN"
(cd "$ROOT" && go build -o "$BIN/smd" ./cmd/smd)
SMD=$BIN/smd

pick_port_base 8
ORIGIN_PORT=$PORT_BASE
NATS_PORT=$((PORT_BASE + 1))
SERVE_PORT=$((PORT_BASE + 2))
SERVE_ADMIN_PORT=$((PORT_BASE + 3))
declare -A PORT ADMIN
PORT[on]=$((PORT_BASE + 4))
ADMIN[on]=$((PORT_BASE + 5))
PORT[off]=$((PORT_BASE + 6))
ADMIN[off]=$((PORT_BASE + 7))

rm -rf "$OUT"
mkdir -p "$OUT/wrk" "$OUT/logs"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smd-publish.XXXXXX")
chmod 755 "$TMP"
NGINX_USER=""
if [ "$(id -u)" -eq 0 ]; then NGINX_USER="user root;"; fi

# The origin: bench/run.sh's static nginx with its 1 KB object (random bytes,
# max-age=3600); every request logged, so the run can check that the edges
# serve from their caches. (The sample origin, `smd origin`, has no object
# of that size.)
log "origin: static nginx on 127.0.0.1:$ORIGIN_PORT"
mkdir -p "$TMP/www/o" "$TMP/origin"
head -c "$SIZE_1K" /dev/urandom >"$TMP/www/o/1k.bin"
ORIGIN_LOG=$OUT/logs/origin.access.log
: >"$ORIGIN_LOG"
cat >"$TMP/origin/nginx.conf" <<EOF
$NGINX_USER
worker_processes 1;
pid $TMP/origin/nginx.pid;
error_log $OUT/logs/origin.error.log warn;
events { worker_connections 1024; }
http {
$(temp_paths "$TMP/origin")
  default_type application/octet-stream;
  log_format bench '\$uri \$status \$body_bytes_sent';
  access_log $ORIGIN_LOG bench;
  server {
    listen 127.0.0.1:$ORIGIN_PORT;
    root $TMP/www;
    add_header Cache-Control "max-age=3600";
  }
}
EOF
"$NGINX" -t -q -e "$OUT/logs/origin.error.log" -c "$TMP/origin/nginx.conf" || die "origin nginx config"
"$NGINX" -e "$OUT/logs/origin.error.log" -c "$TMP/origin/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_port "$ORIGIN_PORT" "origin nginx" "${PIDS[-1]}"
# origin_count PATH: how many times the origin was asked for PATH.
origin_count() { awk -v p="$1" '$1 == p { n++ } END { print n + 0 }' "$ORIGIN_LOG"; }

# The control plane and NATS server, on the load core. Its own edge (on
# SERVE_PORT) serves the API only.
DETECTOR_ENV=false
if [ "$DETECTOR" = 1 ]; then DETECTOR_ENV=true; fi
log "smd serve (control plane, NATS on 127.0.0.1:$NATS_PORT, detector $DETECTOR_ENV) on core $LOAD_CPU"
SERVE_DIR=$TMP/serve
SERVE_CMD=(env SMD_ADMIN_LISTEN="127.0.0.1:$SERVE_ADMIN_PORT" "SMD_DETECTOR_ENABLED=$DETECTOR_ENV"
	SMD_CONTROL_PLAYBACK_SCHEME=http taskset -c "$LOAD_CPU" "$SMD" serve
	--nats-listen "127.0.0.1:$NATS_PORT" --origin "http://127.0.0.1:$ORIGIN_PORT" --data-dir "$SERVE_DIR"
	--listen "127.0.0.1:$SERVE_PORT" --log-level warn)
"${SERVE_CMD[@]}" 2>"$OUT/logs/serve.log" &
PIDS+=($!)
SERVE_PID=${PIDS[-1]}
wait_port "$SERVE_PORT" "smd serve" "$SERVE_PID"
wait_port "$NATS_PORT" "smd serve's NATS" "$SERVE_PID"
for _ in $(seq 100); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SERVE_ADMIN_PORT/readyz")" = 200 ] && break
	kill -0 "$SERVE_PID" 2>/dev/null || die "smd serve exited (see $OUT/logs/serve.log)"
	sleep 0.1
done
for f in api-keys.admin api-keys.issuer master.key; do
	[ -s "$SERVE_DIR/$f" ] || die "smd serve made no $f in $SERVE_DIR"
done

# The asset and its playback URL, through the API.
ASSET='{"id":"bench1k","url_path":"/o/1k.bin","endpoint_hostname":"http://127.0.0.1:'${PORT[on]}'","token_policy":{"paths":["/o/"],"exp":"+2h"}}'
log "asset: $ASSET"
SMD_API_URL=http://127.0.0.1:$SERVE_PORT SMD_API_KEY_FILE=$SERVE_DIR/api-keys.admin \
	"$SMD" assets create - <<<"$ASSET" >"$OUT/logs/asset.json" 2>&1 || die "smd assets create: $(cat "$OUT/logs/asset.json")"
curl -s --max-time 10 -H "Authorization: Bearer $(cat "$SERVE_DIR/api-keys.issuer")" \
	"http://127.0.0.1:$SERVE_PORT/v1/token?id=bench1k" >"$OUT/logs/token.json" || die "GET /v1/token"
PLAYBACK=$(jq -r '.playback_url // empty' "$OUT/logs/token.json" 2>/dev/null ||
	sed -n 's/.*"playback_url": *"\([^"]*\)".*/\1/p' "$OUT/logs/token.json")
[ -n "$PLAYBACK" ] || die "no playback_url from GET /v1/token: $(cat "$OUT/logs/token.json")"
# The token binds no edge: the same path plays on both.
declare -A URL
URL[on]=$PLAYBACK
URL[off]=${PLAYBACK/:${PORT[on]}\//:${PORT[off]}\/}
[ "${URL[on]}" != "${URL[off]}" ] || die "cannot make the off edge's URL from $PLAYBACK"
log "playback URL: $PLAYBACK"

# ---------------------------------------------------------------- 2. edges
declare -A EDGE_PID
for mode in on off; do
	d=$TMP/edge-$mode
	mkdir -p "$d"
	cat >"$d/edge.yaml" <<EOF
id: bench-$mode
admin: {pprof: true}
access_log: {file: ""}
server: {engine: $ENGINE}
master_key_file: $SERVE_DIR/master.key
EOF
	stream=()
	if [ "$mode" = off ]; then stream=(SMD_EDGE_ACCESS_STREAM_ENABLED=false); fi
	log "smd edge, access stream $mode, on 127.0.0.1:${PORT[$mode]} (admin ${ADMIN[$mode]}), core $PEER_CPU, GOMAXPROCS=1"
	env GOMAXPROCS=1 "${stream[@]}" taskset -c "$PEER_CPU" "$SMD" edge --config "$d/edge.yaml" \
		--nats "nats://127.0.0.1:$NATS_PORT" --data-dir "$d/data" \
		--listen "127.0.0.1:${PORT[$mode]}" --admin-listen "127.0.0.1:${ADMIN[$mode]}" \
		--origin "http://127.0.0.1:$ORIGIN_PORT" --log-level warn 2>"$OUT/logs/edge-$mode.log" &
	PIDS+=($!)
	EDGE_PID[$mode]=${PIDS[-1]}
	wait_port "${PORT[$mode]}" "smd edge ($mode)" "${EDGE_PID[$mode]}"
	wait_port "${ADMIN[$mode]}" "smd edge admin ($mode)" "${EDGE_PID[$mode]}"
done
for mode in on off; do
	ok=""
	for _ in $(seq 200); do
		if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${ADMIN[$mode]}/readyz")" = 200 ]; then
			ok=1
			break
		fi
		kill -0 "${EDGE_PID[$mode]}" 2>/dev/null || die "smd edge ($mode) exited (see $OUT/logs/edge-$mode.log)"
		sleep 0.1
	done
	[ -n "$ok" ] || die "smd edge ($mode) is not ready after 20 s (no key ring from NATS? see $OUT/logs/edge-$mode.log)"
done

# metric MODE NAME: the value of a metric without labels on an edge's admin
# listener; empty when the edge does not have it.
metric() {
	curl -s --max-time 5 "http://127.0.0.1:${ADMIN[$1]}/metrics" |
		awk -v m="$2" '$1 == m { printf "%.0f\n", $2 }'
}

log "checking both edges (and warming their caches)"
for mode in on off; do
	expect "${URL[$mode]}" 200 "$SIZE_1K" # miss: fetched and stored
	expect "${URL[$mode]}" 200 "$SIZE_1K" # hit
	expect "http://127.0.0.1:${PORT[$mode]}/o/1k.bin" 401 # no token
done
[ "$(origin_count /o/1k.bin)" -eq 2 ] ||
	die "/o/1k.bin: $(origin_count /o/1k.bin) origin requests while warming, want 2 (one per edge)"
sleep 0.5
[ -n "$(metric on smd_edge_access_stream_published_total)" ] || die "the 'on' edge has no access stream metrics: is it publishing?"
[ "$(metric on smd_edge_access_stream_published_total)" -ge 3 ] ||
	die "the 'on' edge's 3 requests did not reach the stream (published $(metric on smd_edge_access_stream_published_total))"
[ -z "$(metric off smd_edge_access_stream_published_total)" ] || die "the 'off' edge publishes access events"

# ---------------------------------------------------------------- 3. wrk
WRK=(taskset -c "$LOAD_CPU" wrk -t1 "-c$CONNS" --latency)
# snap MODE: "edge_ticks serve_ticks published dropped spooled failures mallocs
# gc_cycles" of the edge now (0 for a metric it does not have).
snap() {
	local t
	t=$(cpu_ticks "${EDGE_PID[$1]}")$'\t'$(cpu_ticks "$SERVE_PID")
	curl -s --max-time 5 "http://127.0.0.1:${ADMIN[$1]}/metrics" | awk -v t="$t" '{ v[$1] = $2 } END {
		n = split("smd_edge_access_stream_published_total smd_edge_access_stream_dropped_total " \
			"smd_edge_access_stream_spooled_total smd_edge_access_stream_publish_failures_total " \
			"go_memstats_mallocs_total go_gc_duration_seconds_count", k, " ")
		split(t, c, "\t"); printf "%d %d", c[1], c[2]
		for (i = 1; i <= n; i++) printf " %.0f", v[k[i]] + 0
		print "" }'
}

printf 'mode\trun\treq/s\tp50_ms\tp99_ms\tedge_cpu_us_per_req\tedge_core_share_pct\tserve_cpu_us_per_req\tallocs_per_req\tgc_per_10k\trequests\tpublished\tdropped\tspooled\tpublish_failures\tload_core_busy_pct\tpeer_core_busy_pct\n' >"$OUT/runs.tsv"
declare -A RPS P50 P99 CPU SHARE SCPU ALLOCS
CHECK_FAIL=""
PUB_LINES=""
log "measuring: wrk -t1 -c$CONNS -d$DURATION --latency after a $WARMUP warm-up, $REPS runs per edge, alternating on/off"
log "wrk shares core $LOAD_CPU with the NATS server (smd serve): CPU time per request of the edge is the primary measure"
for rep in $(seq "$REPS"); do
	for mode in on off; do
		f=$OUT/wrk/$mode-$rep.txt
		run_child "${WRK[@]}" "-d$WARMUP" "${URL[$mode]}" >"$OUT/wrk/$mode-$rep.warmup.txt" 2>&1 ||
			die "wrk warm-up failed: $(cat "$OUT/wrk/$mode-$rep.warmup.txt")"
		sleep 0.5 # the warm-up's last batches are acknowledged before the run starts
		read -r e0 s0 p0 d0 sp0 f0 m0 g0 <<<"$(snap "$mode")"
		c0=$(core_snap)
		run_child "${WRK[@]}" "-d$DURATION" "${URL[$mode]}" >"$f" 2>&1 || die "wrk failed: $(cat "$f")"
		c1=$(core_snap)
		sleep 0.5 # the run's last batches (20 ms linger) are published and acknowledged
		read -r e1 s1 p1 d1 sp1 f1 m1 g1 <<<"$(snap "$mode")"
		read -r busy_load busy_peer <<<"$(core_busy "$c0" "$c1")"
		if grep -q 'Non-2xx' "$f"; then die "$mode: non-2xx answers under load: $(grep Non-2xx "$f")"; fi
		rps=$(awk '$1 == "Requests/sec:" { print $2 }' "$f")
		[ -n "$rps" ] || die "no Requests/sec in $f"
		p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")
		p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")
		n=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$f")
		secs=$(awk '$2 == "requests" && $3 == "in" { print $4 + 0 }' "$f")
		cpu=$(awk -v t="$((e1 - e0))" -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
		share=$(awk -v t="$((e1 - e0))" -v hz="$CLK_TCK" -v s="$secs" 'BEGIN { printf "%.0f", 100 * t / hz / s }')
		scpu=$(awk -v t="$((s1 - s0))" -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
		allocs=$(awk -v a="$((m1 - m0))" -v n="$n" 'BEGIN { printf "%.2f", a / n }')
		gc=$(awk -v a="$((g1 - g0))" -v n="$n" 'BEGIN { printf "%.2f", a * 10000 / n }')
		pub=$((p1 - p0)) drop=$((d1 - d0)) spool=$((sp1 - sp0)) fail=$((f1 - f0))
		RPS[$mode]+="$rps " P50[$mode]+="$p50 " P99[$mode]+="$p99 " CPU[$mode]+="$cpu "
		SHARE[$mode]+="$share " SCPU[$mode]+="$scpu " ALLOCS[$mode]+="$allocs "
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$rep" "$rps" "$p50" "$p99" \
			"$cpu" "$share" "$scpu" "$allocs" "$gc" "$n" "$pub" "$drop" "$spool" "$fail" "$busy_load" "$busy_peer" >>"$OUT/runs.tsv"
		extra=""
		if [ "$mode" = on ]; then
			# Every request served is one event acknowledged by the stream: the
			# requests wrk counted, plus at most one in flight per connection
			# when it stopped. Nothing dropped, nothing spooled.
			extra=$(printf '  stream: +%d published for %d requests (%.4f), +%d dropped, +%d spooled, +%d failures' \
				"$pub" "$n" "$(awk -v a="$pub" -v b="$n" 'BEGIN { print a / b }')" "$drop" "$spool" "$fail")
			PUB_LINES+="| $rep | $n | $pub | $(awk -v a="$pub" -v b="$n" 'BEGIN { printf "%.4f", a / b }') | $drop | $spool | $fail |"$'\n'
			if [ "$pub" -lt "$n" ] || [ "$pub" -gt $((n + CONNS + 10)) ] || [ "$drop" -ne 0 ] || [ "$spool" -ne 0 ] || [ "$fail" -ne 0 ]; then
				CHECK_FAIL+="run $rep: $pub events published for $n requests, $drop dropped, $spool spooled, $fail failed publishes. "
				extra+="  <-- CHECK FAILED"
			fi
		else
			[ -z "$(metric off smd_edge_access_stream_published_total)" ] || die "the 'off' edge publishes access events"
		fi
		printf '    %-3s run %d: %8.0f req/s  p50 %6.3f ms  p99 %7.3f ms  edge %5.2f us CPU/req, %3d%% of core %d; serve %5.2f us CPU/req; %5.2f allocs/req (cores busy: load %d%%, peer %d%%)%s%s\n' \
			"$mode" "$rep" "$rps" "$p50" "$p99" "$cpu" "$share" "$PEER_CPU" "$scpu" "$allocs" "$busy_load" "$busy_peer" "$extra" \
			"$(grep -o 'Socket errors.*' "$f" | sed 's/^/  /' || true)" >&2
	done
done
[ "$(origin_count /o/1k.bin)" -eq 2 ] || die "/o/1k.bin: the origin was asked again under load: an edge did not serve from its cache"

# ---------------------------------------------------------------- 4. profile
# profile_edge MODE: a CPU profile (PROFILE_SECONDS) and the allocations of
# one edge under the same load, in an unmeasured wrk run.
profile_edge() {
	local a=http://127.0.0.1:${ADMIN[$1]}/debug/pprof
	log "profiling the '$1' edge for ${PROFILE_SECONDS}s under the same load (not a measured run)"
	curl -s --max-time 10 -o "$OUT/edge-$1-allocs-0.pprof" "$a/allocs" || die "pprof allocs fetch"
	"${WRK[@]}" "-d$((PROFILE_SECONDS + 3))s" "${URL[$1]}" >"$OUT/wrk/$1-profile.txt" 2>&1 &
	CHILD=$!
	sleep 1
	curl -s --max-time $((PROFILE_SECONDS + 15)) -o "$OUT/edge-$1-cpu.pprof" "$a/profile?seconds=$PROFILE_SECONDS" ||
		die "pprof fetch"
	wait "$CHILD" || true
	CHILD=""
	curl -s --max-time 10 -o "$OUT/edge-$1-allocs-1.pprof" "$a/allocs" || die "pprof allocs fetch"
	go tool pprof -top -nodecount=40 "$SMD" "$OUT/edge-$1-cpu.pprof" >"$OUT/edge-$1-cpu-top.txt" 2>/dev/null || die "go tool pprof"
	go tool pprof -top -cum -nodecount=60 "$SMD" "$OUT/edge-$1-cpu.pprof" >"$OUT/edge-$1-cpu-cum.txt" 2>/dev/null || true
	# What allocated during that run: the difference of the two allocs profiles.
	go tool pprof -sample_index=alloc_objects -top -nodecount=30 -diff_base "$OUT/edge-$1-allocs-0.pprof" \
		"$SMD" "$OUT/edge-$1-allocs-1.pprof" >"$OUT/edge-$1-allocs-top.txt" 2>/dev/null || true
}
# alloc_sites: table rows "| function | on | off |" of heap objects allocated
# per request (flat) during the profile runs, the 12 largest in "on".
alloc_sites() {
	local non noff
	non=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$OUT/wrk/on-profile.txt")
	noff=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$OUT/wrk/off-profile.txt")
	awk -v non="$non" -v noff="$noff" '
		FNR == 1 { file++; top = 0 }
		$1 == "flat" { top = 1; next }
		top && $1 + 0 > 0 { name = $6; for (i = 7; i <= NF; i++) name = name " " $i; v[file, name] = $1; names[name] = 1 }
		END { for (n in names) printf "%.2f\t%.2f\t%s\n", v[1, n] / non, v[2, n] / noff, n }' \
		"$OUT/edge-on-allocs-top.txt" "$OUT/edge-off-allocs-top.txt" |
		sort -t$'\t' -k1,1gr | head -12 | awk -F'\t' '{ printf "| `%s` | %s | %s |\n", $3, $1, $2 }'
}
# The publishing path: samples with a frame of the publisher, the access event
# encoder or the NATS client on their stack (the edge's other use of NATS,
# heartbeats and KV watches, is next to nothing under load).
FOCUS='accessstream|accesslog|nats-io'
if [ "$PROFILE" = 1 ]; then
	profile_edge on
	profile_edge off
	go tool pprof -top -cum -nodecount=30 -focus="$FOCUS" "$SMD" "$OUT/edge-on-cpu.pprof" \
		>"$OUT/edge-on-cpu-publish.txt" 2>/dev/null || true
	# All of the path's samples (no node dropped), for its share of the total.
	PUB_SHARE=$(go tool pprof -top -nodecount=1000000 -nodefraction=0 -edgefraction=0 -focus="$FOCUS" "$SMD" \
		"$OUT/edge-on-cpu.pprof" 2>/dev/null | awk '/^Showing nodes accounting for/ { gsub(/,/, ""); print $6; exit }')
	# Where "on" spends what "off" spends serving requests: on minus off
	# (both edges use their whole core for the same time).
	go tool pprof -top -nodecount=40 -diff_base "$OUT/edge-off-cpu.pprof" "$SMD" "$OUT/edge-on-cpu.pprof" \
		>"$OUT/edge-cpu-on-minus-off.txt" 2>/dev/null || true
fi

# ---------------------------------------------------------------- results
GO_V=$(go version)
SMD_V=$("$SMD" version)
WRK_V=$(wrk --version 2>&1 | head -1 || true)
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
SRC="the source tree"
if git -C "$ROOT" rev-parse --short HEAD >/dev/null 2>&1; then
	SRC="commit $(git -C "$ROOT" rev-parse --short HEAD)"
	dirty=$(git -C "$ROOT" status --porcelain -- cmd internal token go.mod go.sum | awk '{ print $2 }' | tr '\n' ' ')
	if [ -n "$dirty" ]; then SRC+=" with uncommitted changes in: ${dirty% }"; fi
fi
LOAD_END=$(cut -d" " -f1-3 /proc/loadavg)
# The cost of publishing: 1 - (on/off requests per CPU second)
# = 1 - (off CPU per request / on CPU per request); and the same in requests/s.
COST_CPU=$(awk -v on="$(med "${CPU[on]}")" -v off="$(med "${CPU[off]}")" 'BEGIN { printf "%.1f", 100 * (1 - off / on) }')
COST_RPS=$(awk -v on="$(med "${RPS[on]}")" -v off="$(med "${RPS[off]}")" 'BEGIN { printf "%.1f", 100 * (1 - on / off) }')
# The same per pair of runs (on and off of one rep, back to back): the spread.
read -ra con <<<"${CPU[on]}"
read -ra coff <<<"${CPU[off]}"
PAIRS=""
for i in "${!con[@]}"; do PAIRS+="$(awk -v on="${con[$i]}" -v off="${coff[$i]}" 'BEGIN { printf "%.1f", 100 * (1 - off / on) }')% "; done
if awk -v c="$COST_CPU" -v t="$TARGET_PCT" 'BEGIN { exit !(c <= t) }'; then VERDICT="**met**"; else VERDICT="**not met**"; fi
if [ -n "$CHECK_FAIL" ]; then VERDICT+=" (but the stream check failed: $CHECK_FAIL)"; fi

{
	echo "# Access stream publishing: the edge's cost, on against off"
	echo
	echo "$DATE_START; $CPU_MODEL, $(nproc) cores, $(uname -sr); shared machine."
	echo "Load average (1, 5, 15 min) at the start: $LOAD_START; at the end: $LOAD_END."
	echo "Edges pinned to core $PEER_CPU (GOMAXPROCS=1, server.engine $ENGINE, access log off); wrk pinned to core $LOAD_CPU,"
	echo "**sharing it with the NATS server** (\`smd serve --nats-listen\`, detector $DETECTOR_ENV): in the \"on\" runs the"
	echo "server stores the events on the load core, so requests/s can drop for the load side's sake; the edge's"
	echo "CPU time per request is the primary measure. Medians of $REPS runs of \`wrk -t1 -c$CONNS -d$DURATION --latency\`"
	echo "(each after a $WARMUP warm-up), on and off alternating; the 1 KB object of bench/run.sh, cache warm (the origin"
	echo "saw one request per edge, none under load). The token binds paths and exp only (no session): events are"
	echo "spread over the 16 partitions by request id."
	echo
	echo "| access stream | requests/s | best run | p50 (ms) | p99 (ms) | edge CPU µs/request | edge's share of core $PEER_CPU | serve (NATS) CPU µs/request | edge allocs/request | requests/s of each run |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for mode in on off; do
		printf '| %s | %.0f | %.0f | %.3f | %.3f | %.2f | %.0f%% | %.2f | %.2f | %s|\n' "$mode" \
			"$(med "${RPS[$mode]}")" "$(best "${RPS[$mode]}")" "$(med "${P50[$mode]}")" "$(med "${P99[$mode]}")" \
			"$(med "${CPU[$mode]}")" "$(med "${SHARE[$mode]}")" "$(med "${SCPU[$mode]}")" "$(med "${ALLOCS[$mode]}")" \
			"$(for r in ${RPS[$mode]}; do printf '%.0f ' "$r"; done)"
	done
	echo
	echo "| on/off requests/s (medians) | on/off requests per CPU second (off µs / on µs) | cost = 1 - that | cost per on/off pair of runs | publishing's CPU per request | target: cost <= $TARGET_PCT% |"
	echo "|---:|---:|---:|---|---:|---|"
	printf '| %s | %s | **%s%%** | %s| %s µs | %s |\n' \
		"$(awk -v a="$(med "${RPS[on]}")" -v b="$(med "${RPS[off]}")" 'BEGIN { printf "%.3f", a / b }')" \
		"$(awk -v a="$(med "${CPU[off]}")" -v b="$(med "${CPU[on]}")" 'BEGIN { printf "%.3f", a / b }')" \
		"$COST_CPU" "$PAIRS" \
		"$(awk -v a="$(med "${CPU[on]}")" -v b="$(med "${CPU[off]}")" 'BEGIN { printf "%.2f", a - b }')" "$VERDICT"
	echo
	echo "In requests/s the cost is $COST_RPS% (1 - on/off of the medians)."
	if awk -v a="$(med "${SHARE[on]}")" -v b="$(med "${SHARE[off]}")" 'BEGIN { exit !(a < 99 || b < 99) }'; then
		echo
		echo "**Warning: an edge was not saturated** (median share of its core below 99%): its CPU time per request"
		echo "then includes the wake-ups of an idling server, and the comparison is unfair to it. Raise CONNS."
	fi
	echo
	echo "The stream during the \"on\" runs (\`smd_edge_access_stream_*_total\` on the edge's admin listener, from 0.5 s"
	echo "before to 0.5 s after each run; every request wrk counted must be published, plus at most one in flight per"
	echo "connection when wrk stopped):"
	echo
	echo "| run | requests | events published | published/requests | dropped | spooled | failed publishes |"
	echo "|---:|---:|---:|---:|---:|---:|---:|"
	printf '%s' "$PUB_LINES"
	echo
	if [ -n "$CHECK_FAIL" ]; then
		echo "**Stream check failed**: $CHECK_FAIL"
		echo
	fi
	echo "Versions: $SMD_V, built from $SRC; $GO_V; $WRK_V."
	echo
	echo "Commands:"
	echo
	echo '```sh'
	echo "bash bench/publish.sh   # DURATION=$DURATION WARMUP=$WARMUP REPS=$REPS CONNS=$CONNS ENGINE=$ENGINE DETECTOR=$DETECTOR"
	echo "SMD_ADMIN_LISTEN=127.0.0.1:$SERVE_ADMIN_PORT SMD_DETECTOR_ENABLED=$DETECTOR_ENV SMD_CONTROL_PLAYBACK_SCHEME=http taskset -c $LOAD_CPU \\"
	echo "    smd serve --nats-listen 127.0.0.1:$NATS_PORT --origin http://127.0.0.1:$ORIGIN_PORT --data-dir serve --listen 127.0.0.1:$SERVE_PORT"
	echo "echo '$ASSET' | SMD_API_URL=http://127.0.0.1:$SERVE_PORT SMD_API_KEY_FILE=serve/api-keys.admin smd assets create -"
	echo "curl -H \"Authorization: Bearer \$(cat serve/api-keys.issuer)\" 'http://127.0.0.1:$SERVE_PORT/v1/token?id=bench1k'"
	echo "[SMD_EDGE_ACCESS_STREAM_ENABLED=false] GOMAXPROCS=1 taskset -c $PEER_CPU smd edge --config edge.yaml --nats nats://127.0.0.1:$NATS_PORT \\"
	echo "    --data-dir edge-MODE/data --listen 127.0.0.1:PORT --admin-listen 127.0.0.1:ADMIN --origin http://127.0.0.1:$ORIGIN_PORT"
	echo "    # edge.yaml: {id: bench-MODE, admin: {pprof: true}, access_log: {file: \"\"}, server: {engine: $ENGINE}, master_key_file: serve/master.key}"
	echo "taskset -c $LOAD_CPU wrk -t1 -c$CONNS -d$WARMUP --latency URL   # warm-up, then:"
	echo "taskset -c $LOAD_CPU wrk -t1 -c$CONNS -d$DURATION --latency URL"
	echo '```'
	if [ "$PROFILE" = 1 ]; then
		echo
		echo "CPU profiles of both edges under the same load (${PROFILE_SECONDS}s each; \"on\" $(awk '$1 == "Requests/sec:" { printf "%.0f", $2 }' "$OUT/wrk/on-profile.txt")"
		echo "requests/s, \"off\" $(awk '$1 == "Requests/sec:" { printf "%.0f", $2 }' "$OUT/wrk/off-profile.txt") requests/s). In the \"on\" edge, samples with the publisher, the event"
		echo "encoder or the NATS client on their stack (\`-focus='$FOCUS'\`) are ${PUB_SHARE:-?} of its CPU;"
		echo "the top entries of that path (cumulative; bench/out/publish/ has the profiles, the flat and cumulative"
		echo "tops of both edges, \`edge-cpu-on-minus-off.txt\` and what allocates, \`edge-*-allocs-top.txt\`):"
		echo
		echo '```text'
		sed -n '/flat%/,$p' "$OUT/edge-on-cpu-publish.txt" | head -21
		echo '```'
		echo
		echo "Where the edges allocate under load: heap objects per request by allocating function (flat; from the"
		echo "sampled allocs profiles, so estimates; the exact totals per request are in the first table):"
		echo
		echo "| function | on | off |"
		echo "|---|---:|---:|"
		alloc_sites
	fi
	echo
	echo "Whole run: $(($(date +%s) - T_START)) s."
} >"$OUT/results.md"
echo
cat "$OUT/results.md"
