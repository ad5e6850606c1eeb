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
