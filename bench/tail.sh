#!/usr/bin/env bash
# bench/tail.sh: where the edge's tail latency comes from, against nginx,
# on plain HTTP. See bench/README.md.
#
#   nginx         proxy_cache + secure_link, one worker
#   smd           smd edge as built from this tree (server.gc_floor on)
#   smd-nofloor   the same with server.gc_floor: 0 (GOGC=100 throughout)
#   smd-alt       SMD_ALT, another smd binary, when set (for example one
#                 built with a patched Go runtime: BENCHMARKS.md, "Tail
#                 latency")
#
# Every peer serves a cached 1 KB object on core PEER_CPU (GOMAXPROCS=1,
# one nginx worker), wrk -t1 -cCONNS on core LOAD_CPU; smd's tokens are
# bound to IP and session. Besides requests/s and wrk's p50/p90/p99, the
# script reads each peer's threads from /proc (schedstat, status): CPU
# per request, time spent runnable but waiting for the core per request,
# context switches per 1,000 requests, threads. Medians of REPS runs,
# peers alternating. Writes bench/tail-results.md (raw outputs in
# bench/out-tail/).
#
# Knobs (environment): DURATION=10s WARMUP=2s REPS=3 CONNS=32 SMD_ALT=
# PORT_BASE=(free ports in 37000-37999) PEER_CPU=1 LOAD_CPU=0.
set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH/.." && pwd)
BIN=$BENCH/.bin
OUT=$BENCH/out-tail
RESULTS=$BENCH/tail-results.md

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
REPS=${REPS:-3}
CONNS=${CONNS:-32}
SMD_ALT=${SMD_ALT:-}
PORT_BASE=${PORT_BASE:-}
PEER_CPU=${PEER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
LOAD_START=$(cut -d" " -f1-3 /proc/loadavg)

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$BENCH/lib.sh"

ensure_tools
command -v go >/dev/null || die "go is not on the PATH"
[ "$(nproc)" -ge 2 ] || die "needs 2 cores"
if [ -n "$SMD_ALT" ]; then [ -x "$SMD_ALT" ] || die "SMD_ALT=$SMD_ALT is not an executable"; fi

log "building smd"
mkdir -p "$BIN"
(cd "$ROOT" && go build -o "$BIN/smd" ./cmd/smd)
SMD=$BIN/smd

pick_port_base 5
ORIGIN_PORT=$PORT_BASE
declare -A PORT=([nginx]=$((PORT_BASE + 1)) [smd]=$((PORT_BASE + 2)) [smd-nofloor]=$((PORT_BASE + 3)) [smd-alt]=$((PORT_BASE + 4)))
PEERS=(nginx smd smd-nofloor)
if [ -n "$SMD_ALT" ]; then PEERS+=(smd-alt); fi

rm -rf "$OUT"
mkdir -p "$OUT/wrk" "$OUT/logs"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/smd-tail.XXXXXX")
chmod 755 "$TMP"
NGINX_USER=""
if [ "$(id -u)" -eq 0 ]; then NGINX_USER="user root;"; fi

start_objects_origin "$ORIGIN_PORT"

declare -A PEER_PIDS
log "nginx proxy_cache + secure_link on :${PORT[nginx]}"
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
  keepalive_requests 1000000;
  proxy_cache_path $TMP/ng/cache levels=1:2 keys_zone=bench:10m max_size=1g inactive=1h use_temp_path=off;
  upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 32; }
  server {
    listen 127.0.0.1:${PORT[nginx]} backlog=4096;
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
    }
  }
}
CONF
taskset -c "$PEER_CPU" "$NGINX" -e "$OUT/logs/nginx.error.log" -c "$TMP/ng/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_port "${PORT[nginx]}" "nginx" "${PIDS[-1]}"
# The worker alone: the master sleeps, and its threads are the worker's.
PEER_PIDS[nginx]=$(ps -o pid=,args= --ppid "${PIDS[-1]}" | awk '/worker process/ { print $1 }')

(
	umask 077
	printf '{"bench_%s": "%s"}\n' "$(openssl rand -hex 10)" "$(openssl rand -hex 64)" >"$TMP/keys.json"
)
for peer in "${PEERS[@]:1}"; do
	bin=$SMD floor=64MiB
	if [ "$peer" = smd-nofloor ]; then floor=0; fi
	if [ "$peer" = smd-alt ]; then bin=$SMD_ALT; fi
	log "$peer on :${PORT[$peer]} ($bin, server.gc_floor $floor)"
	cat >"$TMP/$peer.yaml" <<CONF
id: $peer
listen: "127.0.0.1:${PORT[$peer]}"
admin: {listen: ""}
access_log: {file: ""}
server: {gc_floor: $floor}
CONF
	env -u GOGC GOMAXPROCS=1 taskset -c "$PEER_CPU" "$bin" edge --config "$TMP/$peer.yaml" --keys "$TMP/keys.json" \
		--origin "http://127.0.0.1:$ORIGIN_PORT" --log-level warn 2>"$OUT/logs/$peer.log" &
	PIDS+=($!)
	wait_port "${PORT[$peer]}" "$peer" "${PIDS[-1]}"
	PEER_PIDS[$peer]=${PIDS[-1]}
done

declare -A URL
exp=$(($(date +%s) + 7200))
md5=$(printf '%s%s %s' "$exp" /o/1k.bin "$SL_SECRET" | openssl md5 -binary | base64 | tr +/ -_ | tr -d =)
URL[nginx]="http://127.0.0.1:${PORT[nginx]}/o/1k.bin?md5=$md5&expires=$exp"
for peer in "${PEERS[@]:1}"; do
	URL[$peer]=$("$SMD" token sign --keys "$TMP/keys.json" --path / --exp +2h --ip --viewer-ip 127.0.0.1 --ssn \
		--url "http://127.0.0.1:${PORT[$peer]}/o/1k.bin")
done
log "checking every peer (and warming the caches)"
for peer in "${PEERS[@]}"; do
	expect "${URL[$peer]}" 200 1024
	expect "${URL[$peer]}" 200 1024
done

# sched PID: the sums over PID's threads of run time (ns), time runnable
# but waiting for a core (ns), voluntary and involuntary context
# switches, and the number of threads.
sched() {
	local t run=0 wait=0 vol=0 invol=0 n=0 a b c
	for t in /proc/"$1"/task/*; do
		read -r a b c <"$t/schedstat" || continue
		run=$((run + a)) wait=$((wait + b)) n=$((n + 1))
		vol=$((vol + $(awk '/^voluntary_ctxt_switches/ { print $2 }' "$t/status")))
		invol=$((invol + $(awk '/^nonvoluntary_ctxt_switches/ { print $2 }' "$t/status")))
	done
	echo "$run $wait $vol $invol $n"
}

WRK=(taskset -c "$LOAD_CPU" wrk -t1 "-c$CONNS" --latency)
printf 'peer\trun\treq/s\tp50_ms\tp90_ms\tp99_ms\tcpu_us_per_req\twait_us_per_req\tcs_per_1k\tthreads\n' >"$OUT/runs.tsv"
declare -A RPS P50 P90 P99 CPU WAIT CS THREADS
log "measuring: wrk -t1 -c$CONNS -d$DURATION --latency after a $WARMUP warm-up, $REPS runs per peer, alternating"
for rep in $(seq "$REPS"); do
	for peer in "${PEERS[@]}"; do
		f=$OUT/wrk/$peer-$rep.txt
		run_child "${WRK[@]}" "-d$WARMUP" "${URL[$peer]}" >/dev/null 2>&1 || die "wrk warm-up failed ($peer)"
		read -r r0 w0 v0 i0 _ <<<"$(sched "${PEER_PIDS[$peer]}")"
		run_child "${WRK[@]}" "-d$DURATION" "${URL[$peer]}" >"$f" 2>&1 || die "wrk failed: $(cat "$f")"
		read -r r1 w1 v1 i1 th <<<"$(sched "${PEER_PIDS[$peer]}")"
		if grep -q 'Non-2xx' "$f"; then die "$peer: non-2xx answers under load: $(grep Non-2xx "$f")"; fi
		n=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$f")
		rps=$(awk '$1 == "Requests/sec:" { print $2 }' "$f")
		p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")
		p90=$(to_ms "$(awk '$1 == "90%" { print $2 }' "$f")")
		p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")
		cpu=$(awk -v t="$((r1 - r0))" -v n="$n" 'BEGIN { printf "%.2f", t / 1000 / n }')
		wait=$(awk -v t="$((w1 - w0))" -v n="$n" 'BEGIN { printf "%.3f", t / 1000 / n }')
		cs=$(awk -v c="$((v1 - v0 + i1 - i0))" -v n="$n" 'BEGIN { printf "%.2f", c * 1000 / n }')
		RPS[$peer]+="$rps " P50[$peer]+="$p50 " P90[$peer]+="$p90 " P99[$peer]+="$p99 "
		CPU[$peer]+="$cpu " WAIT[$peer]+="$wait " CS[$peer]+="$cs " THREADS[$peer]=$th
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$peer" "$rep" "$rps" "$p50" "$p90" "$p99" "$cpu" "$wait" "$cs" "$th" >>"$OUT/runs.tsv"
		printf '    %-11s run %d: %8.0f req/s  p50 %6.3f  p90 %6.3f  p99 %6.3f ms  %5.2f us CPU/req  %6.3f us waiting/req  %5.2f cs/1k req\n' \
			"$peer" "$rep" "$rps" "$p50" "$p90" "$p99" "$cpu" "$wait" "$cs" >&2
	done
done
[ "$(wc -l <"$ORIGIN_LOG")" -le $((2 * ${#PEERS[@]})) ] || die "the origin was asked under load: a peer did not serve from its cache"

{
	echo "# bench/tail.sh results"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average at the start $LOAD_START;" \
		"wrk -t1 -c$CONNS -d$DURATION on core $LOAD_CPU, every peer on core $PEER_CPU; medians of $REPS runs."
	echo "smd: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)${SMD_ALT:+; smd-alt: $SMD_ALT}."
	echo
	echo "| peer | requests/s | p50 ms | p90 ms | p99 ms | CPU µs per request | waiting for the core, µs per request | context switches per 1,000 requests | threads |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for peer in "${PEERS[@]}"; do
		printf '| %s | %.0f | %.3f | %.3f | %.3f | %.2f | %.3f | %.2f | %s |\n' "$peer" "$(med "${RPS[$peer]}")" \
			"$(med "${P50[$peer]}")" "$(med "${P90[$peer]}")" "$(med "${P99[$peer]}")" "$(med "${CPU[$peer]}")" \
			"$(med "${WAIT[$peer]}")" "$(med "${CS[$peer]}")" "${THREADS[$peer]}"
	done
	echo
	echo "Every run (bench/out-tail/runs.tsv):"
	echo
	echo '```'
	column -t "$OUT/runs.tsv"
	echo '```'
} >"$RESULTS"
log "results in $RESULTS"
