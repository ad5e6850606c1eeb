# bench/lib.sh: helpers shared by bench/run.sh and bench/publish.sh. Sourced,
# not run. It sets the exit trap (which stops every process in PIDS, the load
# generator in CHILD, and removes TMP) and defines functions; the scripts set
# OUT, LOAD_CPU and PEER_CPU before calling wait_port, core_snap or core_busy.
# shellcheck shell=bash

log() { printf '==> %s\n' "$*" >&2; }
die() {
	printf 'bench: FAIL: %s\n' "$*" >&2
	exit 1
}

# ---------------------------------------------------------------- cleanup
PIDS=()  # long-running servers we started
CHILD="" # the load generator running now, if any
TMP=""
cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	if [ -n "$CHILD" ]; then kill "$CHILD" 2>/dev/null || true; fi
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "$TMP" ]; then rm -rf "$TMP"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run_child CMD...: runs a bounded load generator in the background and waits
# for it, so that a signal reaches the trap at once and the trap stops it.
run_child() {
	local rc=0
	"$@" &
	CHILD=$!
	wait "$CHILD" || rc=$?
	CHILD=""
	return "$rc"
}

# ensure_tools: installs wrk, nginx, curl, openssl, taskset, ss and ps if one
# is missing (root only), and sets NGINX to nginx's path.
ensure_tools() {
	local need=()
	command -v wrk >/dev/null || need+=(wrk)
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
	command -v curl >/dev/null || need+=(curl)
	command -v openssl >/dev/null || need+=(openssl)
	command -v taskset >/dev/null || need+=(util-linux)
	command -v ss >/dev/null || need+=(iproute2)
	command -v ps >/dev/null || need+=(procps)
	if [ ${#need[@]} -gt 0 ]; then
		[ "$(id -u)" -eq 0 ] || die "missing ${need[*]}: run as root, or install them"
		log "installing ${need[*]}"
		apt-get update
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
	fi
	# shellcheck disable=SC2034 # for the scripts that source this file
	NGINX=$(command -v nginx || echo /usr/sbin/nginx)
}

# ---------------------------------------------------------------- ports
# port_busy PORT: a socket (listening, or a connection in any state) uses PORT.
port_busy() {
	[ -n "$(ss -Htan "( sport = :$1 )")" ] || (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
# ports_free BASE [N]: BASE..BASE+N-1 (N: 4) are all free.
ports_free() {
	local o
	for o in $(seq 0 $((${2:-4} - 1))); do
		if port_busy $(($1 + o)); then return 1; fi
	done
}
# pick_port_base N: sets PORT_BASE, if empty, to N consecutive free ports in
# 37000-37999; checks the N ports from PORT_BASE if it is set.
pick_port_base() {
	if [ -n "$PORT_BASE" ]; then
		ports_free "$PORT_BASE" "$1" || die "a port in $PORT_BASE..$((PORT_BASE + $1 - 1)) is in use"
		return
	fi
	for _ in $(seq 50); do
		PORT_BASE=$((37000 + RANDOM % (1001 - $1)))
		if ports_free "$PORT_BASE" "$1"; then return; fi
		PORT_BASE=""
	done
	die "found no $1 free ports in 37000-37999"
}

# wait_port PORT NAME PID: waits until something answers on PORT.
wait_port() {
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		kill -0 "$3" 2>/dev/null || die "$2 exited at start (see $OUT/logs/)"
		sleep 0.1
	done
	die "$2 does not listen on port $1 (see $OUT/logs/)"
}

# temp_paths DIR: nginx's temporary directories, all under DIR.
temp_paths() {
	printf '  client_body_temp_path %s/body;\n  proxy_temp_path %s/proxy;\n' "$1" "$1"
	printf '  fastcgi_temp_path %s/fastcgi;\n  uwsgi_temp_path %s/uwsgi;\n  scgi_temp_path %s/scgi;\n' "$1" "$1" "$1"
}

# expect URL STATUS [LENGTH]: one GET must answer STATUS (and LENGTH bytes).
expect() {
	local got
	got=$(curl -s -o /dev/null --max-time 10 -w '%{http_code} %{size_download}' "$1") || got="curl-failed"
	if [ "${got%% *}" != "$2" ] || { [ -n "${3:-}" ] && [ "${got#* }" != "$3" ]; }; then
		die "GET ${1%%\?*}...: got '$got', want status $2${3:+ and $3 bytes}"
	fi
}

# ---------------------------------------------------------------- measures
# to_ms VALUE: wrk's 612.00us / 1.23ms / 1.02s in milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) m = v / 1000; else if (v ~ /ms$/) m = v + 0;
		else if (v ~ /m$/) m = v * 60000; else if (v ~ /s$/) m = v * 1000; else m = -1;
		printf "%.3f", m }'
}
# cpu_ticks PID...: user + system CPU time of the processes, in clock ticks.
cpu_ticks() {
	local t=0 p
	for p in "$@"; do t=$((t + $(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat"))); done
	echo "$t"
}
# shellcheck disable=SC2034 # for the scripts that source this file
CLK_TCK=$(getconf CLK_TCK)
# core_snap: "busy total" jiffies of cores LOAD_CPU and PEER_CPU (4 numbers).
core_snap() {
	awk -v a="cpu$LOAD_CPU" -v b="cpu$PEER_CPU" '$1 == a || $1 == b {
		t = 0; for (i = 2; i <= 9; i++) t += $i
		s[$1] = (t - $5 - $6) " " t
	} END { print s[a], s[b] }' /proc/stat
}
# core_busy SNAP0 SNAP1: busy % of the two cores between the snapshots.
core_busy() {
	awk -v x="$1" -v y="$2" 'BEGIN { split(x, a); split(y, b)
		printf "%.0f %.0f", 100 * (b[1] - a[1]) / (b[2] - a[2]), 100 * (b[3] - a[3]) / (b[4] - a[4]) }'
}
# median: the median of the numbers on standard input.
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# med LIST, best LIST: the median and the highest of space-separated numbers.
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
best() { tr ' ' '\n' <<<"$1" | grep . | sort -g | tail -1; }

# ---------------------------------------------------------------- peers
# start_objects_origin PORT: a static nginx on 127.0.0.1:PORT serving a
# 1 KB and a 200 KB object of random bytes (/o/1k.bin, /o/200k.bin, from
# TMP/www) with Cache-Control: max-age=3600, logging every request to
# ORIGIN_LOG; sets SIZE (bytes by name). NGINX_USER, TMP and OUT must be set.
start_objects_origin() {
	mkdir -p "$TMP/www/o" "$TMP/origin"
	head -c 1024 /dev/urandom >"$TMP/www/o/1k.bin"
	head -c 204800 /dev/urandom >"$TMP/www/o/200k.bin"
	declare -gA SIZE=([1k]=1024 [200k]=204800)
	ORIGIN_LOG=$OUT/logs/origin.access.log
	cat >"$TMP/origin/nginx.conf" <<CONF
$NGINX_USER
worker_processes 1;
pid $TMP/origin/nginx.pid;
error_log $OUT/logs/origin.error.log warn;
events { worker_connections 1024; }
http {
$(temp_paths "$TMP/origin")
  default_type application/octet-stream;
  log_format bench '\$uri \$status';
  access_log $ORIGIN_LOG bench;
  server {
    listen 127.0.0.1:$1;
    root $TMP/www;
    add_header Cache-Control "max-age=3600";
  }
}
CONF
	"$NGINX" -e "$OUT/logs/origin.error.log" -c "$TMP/origin/nginx.conf" -g 'daemon off;' &
	PIDS+=($!)
	wait_port "$1" "origin nginx" "${PIDS[-1]}"
}

# nginx_pids PID: the master and its worker (the CPU of both is counted).
nginx_pids() { echo "$1 $(ps -o pid=,args= --ppid "$1" | awk '/worker process/ { print $1 }')"; }

# wrk_run PEER SIZE REP URL: a WARMUP wrk run, then a measured DURATION
# one with the WRK command; appends requests/s, p50, p99 and the CPU per
# request of PEER_PIDS[PEER] to the caller's RPS, P50, P99 and CPU arrays
# and a line to OUT/runs.tsv. When EXTRA_PIDS is set, EXTRA_CPU is their
# CPU per request during the measured run.
wrk_run() {
	local peer=$1 size=$2 rep=$3 url=$4 f t0 t1 a0 a1 rps p50 p99 n cpu
	f=$OUT/wrk/$peer-$size-$rep.txt
	run_child "${WRK[@]}" "-d$WARMUP" "$url" >/dev/null 2>&1 || die "wrk warm-up failed ($peer)"
	# shellcheck disable=SC2086 # PEER_PIDS holds a list
	t0=$(cpu_ticks ${PEER_PIDS[$peer]})
	a0=$(cpu_ticks ${EXTRA_PIDS:-})
	run_child "${WRK[@]}" "-d$DURATION" "$url" >"$f" 2>&1 || die "wrk failed: $(cat "$f")"
	# shellcheck disable=SC2086
	t1=$(cpu_ticks ${PEER_PIDS[$peer]})
	a1=$(cpu_ticks ${EXTRA_PIDS:-})
	if grep -q 'Non-2xx' "$f"; then die "$peer $size: non-2xx answers under load: $(grep Non-2xx "$f")"; fi
	rps=$(awk '$1 == "Requests/sec:" { print $2 }' "$f")
	p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$f")")
	p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$f")")
	n=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$f")
	cpu=$(awk -v t="$((t1 - t0))" -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
	EXTRA_CPU=$(awk -v t="$((a1 - a0))" -v hz="$CLK_TCK" -v n="$n" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
	RPS[$peer,$size]+="$rps "
	P50[$peer,$size]+="$p50 "
	P99[$peer,$size]+="$p99 "
	CPU[$peer,$size]+="$cpu "
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$peer" "$size" "$rep" "$rps" "$p50" "$p99" "$cpu" >>"$OUT/runs.tsv"
	printf '    %-11s %-4s run %d: %8.0f req/s  p50 %7.3f ms  p99 %8.3f ms  %6.2f us CPU/req\n' \
		"$peer" "$size" "$rep" "$rps" "$p50" "$p99" "$cpu" >&2
}
