#!/usr/bin/env bash
# scripts/test.sh: the one command that tests smd, from any directory, on a
# fresh Debian machine as on a developer's.
#
#   1. installs the Debian packages the tests need, only those missing
#      (add them to APT_PACKAGES);
#   2. gofmt -l must print nothing;
#   3. go vet ./...;
#   4. go test -race -count=1 ./... (after npm ci of querytest/, whose
#      DuckDB runs the documented queries), then the same in caddy/ (the
#      Caddy module's own Go module);
#   5. the browser tests (scripts/browser-test.sh: smd demo in chromium,
#      driven by playwright-core; screenshots in browsertest/artifacts);
#   6. every fuzz target of the module, one at a time, for FUZZTIME each
#      (default 20s). A crasher is written under the package's testdata/fuzz.
#
# Exits non-zero when any step fails; a summary of the steps closes the run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZTIME=${FUZZTIME:-20s}

# Debian packages the tests need. gcc and libc6-dev are cgo's, which -race
# needs; ffmpeg (with ffprobe) and curl are the player-side clients of the
# end-to-end tests; chromium runs the browser tests; prometheus brings
# promtool, which checks the alerting rules in deploy/; systemd brings
# systemd-analyze, which checks the units in deploy/systemd; nginx, caddy
# and haproxy run the drop-in configurations of deploy/ in front of smd's
# auth mode (internal/node TestNginxAuthRequest, TestCaddyForwardAuth,
# TestHAProxyAuth).
APT_PACKAGES=(gcc libc6-dev ffmpeg curl chromium prometheus systemd nginx caddy haproxy)

results=() # "ok   NAME" or "FAIL NAME", in run order
npass=0
nfail=0

step() {
	printf '\n==> %s\n' "$1"
}

record() { # record NAME STATUS
	if [ "$2" -eq 0 ]; then
		results+=("ok    $1")
		npass=$((npass + 1))
	else
		results+=("FAIL  $1")
		nfail=$((nfail + 1))
		printf 'FAIL: %s\n' "$1"
	fi
}

install_missing() {
	local missing=() p
	for p in "${APT_PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	[ "${#missing[@]}" -eq 0 ] && return 0
	step "installing Debian packages: ${missing[*]}"
	local sudo=()
	if [ "$(id -u)" -ne 0 ]; then
		if ! command -v sudo >/dev/null 2>&1; then
			echo "missing Debian packages (${missing[*]}) and not root: install them first" >&2
			return 1
		fi
		sudo=(sudo)
	fi
	"${sudo[@]}" apt-get update
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "${missing[@]}"
}

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="$PATH:/usr/local/go/bin"
fi
if ! command -v go >/dev/null 2>&1; then
	echo "go is not on PATH (expected at /usr/local/go/bin)" >&2
	exit 1
fi
go version

install_missing

# Node.js and npm for the browser tests: the machine's own when it has
# them (Node.js 20 or newer); else Debian's.
if ! command -v npm >/dev/null 2>&1; then
	APT_PACKAGES=(nodejs npm)
	install_missing
fi

step "gofmt -l"
unformatted=$(find . \( \( -name testdata -o -name vendor -o -name '.?*' \) -prune \) \
	-o -name '*.go' -print0 | xargs -0 -r gofmt -l)
if [ -n "$unformatted" ]; then
	printf 'gofmt would change these files:\n%s\n' "$unformatted"
	record gofmt 1
else
	record gofmt 0
fi

step "go vet ./..."
rc=0
go vet ./... || rc=$?
record "go vet" "$rc"

# DuckDB from the npm registry, at the version querytest/package-lock.json
# pins: internal/node's TestDocumentedQueries runs docs/access.md's SQL
# with it.
step "npm ci --prefix querytest (DuckDB for the documented queries)"
rc=0
npm ci --prefix querytest --no-audit --no-fund --loglevel=error || rc=$?
record "npm ci querytest" "$rc"

# The S3-compatible server of the upload tests (internal/accessupload/
# s3test): Versity's S3 gateway, built from the Go module proxy once per
# machine, here rather than inside a test, so that no test waits for it.
vgw_version=$(sed -n 's/^const Version = "\(.*\)"$/\1/p' internal/accessupload/s3test/s3test.go)
vgw_dir="${XDG_CACHE_HOME:-$HOME/.cache}/smd-test/versitygw-$vgw_version"
if [ ! -x "$vgw_dir/versitygw" ]; then
	step "building versitygw $vgw_version (the S3 server of the upload tests)"
	rc=0
	GOBIN="$vgw_dir" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install "github.com/versity/versitygw/cmd/versitygw@$vgw_version" || rc=$?
	record "build versitygw" "$rc"
fi

# The ACME server of the certificate tests (internal/acme/pebbletest):
# Let's Encrypt's pebble and its DNS server, built from the Go module
# proxy once per machine, here rather than inside a test.
pebble_version=$(sed -n 's/^const Version = "\(.*\)"$/\1/p' internal/acme/pebbletest/pebbletest.go)
pebble_dir="${XDG_CACHE_HOME:-$HOME/.cache}/smd-test/pebble-$pebble_version"
if [ ! -x "$pebble_dir/pebble-challtestsrv" ]; then
	step "building pebble $pebble_version (the ACME server of the certificate tests)"
	rc=0
	GOBIN="$pebble_dir" GOFLAGS=-buildvcs=false CGO_ENABLED=0 go install "github.com/letsencrypt/pebble/v2/cmd/pebble@$pebble_version" \
		"github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv@$pebble_version" || rc=$?
	record "build pebble" "$rc"
fi

step "go test -race -count=1 ./..."
rc=0
go test -race -count=1 ./... || rc=$?
record "go test -race" "$rc"

# The Caddy module is a Go module of its own (caddy/), so that smd's main
# module does not depend on Caddy: ./... above does not reach it.
step "Caddy module (caddy/): go vet, go test -race"
rc=0
(cd caddy && go vet ./... && go test -race -count=1 ./...) || rc=$?
record "caddy module" "$rc"

step "browser tests (scripts/browser-test.sh)"
rc=0
scripts/browser-test.sh || rc=$?
record "browser tests" "$rc"

# Fuzz targets: "dir name" lines, sorted for a stable order.
mapfile -t targets < <(
	grep -rl --include='*_test.go' --exclude-dir=testdata --exclude-dir='.?*' '^func Fuzz' . |
		while read -r file; do
			sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file" |
				while read -r name; do printf '%s %s\n' "$(dirname "$file")" "$name"; done
		done | sort
)
for t in "${targets[@]}"; do
	dir=${t% *}
	name=${t#* }
	step "fuzz $name in $dir for $FUZZTIME"
	rc=0
	out=$(mktemp)
	go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$dir" 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
	# Go 1.26's fuzzing coordinator can fail a run that found nothing with
	# a bare "context deadline exceeded" as -fuzztime ends: it compares the
	# deadline context's error with its child's before the child is
	# cancelled (golang/go#75804, fixed in Go 1.27). No input failed and
	# none was written. Such a run is tried again, up to three times (on a
	# loaded machine the race can strike twice in a row; seen in a CI
	# round); a real finding always writes its input ("Failing input
	# written") and is never retried.
	tries=0
	while [ "$rc" -ne 0 ] && [ "$tries" -lt 3 ] && grep -q '^    context deadline exceeded$' "$out" && ! grep -q 'Failing input written' "$out"; do
		tries=$((tries + 1))
		echo "fuzz engine timeout without a finding; running $name again ($tries of 3)"
		rc=0
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$dir" 2>&1 | tee "$out" || rc=${PIPESTATUS[0]}
	done
	rm -f "$out"
	record "fuzz $dir $name" "$rc"
done

printf '\n==> summary\n'
printf '  %s\n' "${results[@]}"
printf 'checks: %d passed, %d failed\n' "$npass" "$nfail"
[ "$nfail" -eq 0 ]
