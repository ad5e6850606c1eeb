#!/usr/bin/env bash
# scripts/browser-test.sh: smd's browser tests (browsertest/): builds
# bin/smd, installs playwright-core at the version pinned in
# browsertest/package-lock.json, checks the site's JavaScript parses, and
# drives `smd demo` in Debian's chromium, headless. Screenshots of every
# page go to browsertest/artifacts/ (ARTIFACTS to change it).
#
# Needs chromium (apt-get install chromium), Node.js 20 or newer and npm;
# scripts/test.sh installs chromium and runs this as one of its steps.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "browser tests: node and npm are needed (Node.js 20 or newer)" >&2
	exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
	echo "browser tests: Node.js $(node --version) is too old; playwright-core needs 20 or newer" >&2
	exit 1
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
	echo "browser tests: no chromium at ${CHROMIUM:-/usr/bin/chromium} (apt-get install chromium)" >&2
	exit 1
fi

echo "== building bin/smd"
mkdir -p bin
go build -buildvcs=auto -o bin/smd ./cmd/smd

echo "== the site's JavaScript parses"
while IFS= read -r -d '' f; do
	node --check --input-type=module <"$f" || { echo "in $f" >&2; exit 1; }
done < <(find internal/site/static/js -name '*.js' -print0)

echo "== npm ci (playwright-core, pinned)"
npm ci --prefix browsertest --no-audit --no-fund --loglevel=error

echo "== browser tests"
export SMD_BIN="$PWD/bin/smd"
export ARTIFACTS="${ARTIFACTS:-$PWD/browsertest/artifacts}"
rm -rf "$ARTIFACTS"
cd browsertest
node --test --test-concurrency=1 --test-reporter=spec demo.test.mjs
echo "screenshots: $ARTIFACTS"
