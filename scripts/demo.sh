#!/usr/bin/env bash
# scripts/demo.sh: smd's main job on a fresh clone. Builds bin/smd (Go 1.26
# or newer is the only thing needed; the first build downloads the Go
# modules and takes a minute or two) and runs `smd demo`: embedded NATS,
# control plane, edge, detector, sample origin and the demo website, all
# on one address. It prints the URL to open; Ctrl-C stops it. Arguments go
# to smd demo (e.g. --listen 127.0.0.1:8090); see docs/demo.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH="$PATH:/usr/local/go/bin"
fi
if ! command -v go >/dev/null 2>&1; then
	echo "go is not on PATH: install Go 1.26 or newer (https://go.dev/dl/)" >&2
	exit 1
fi
mkdir -p bin
echo "building bin/smd (the first build downloads the Go modules: a minute or two)..."
go build -buildvcs=auto -o bin/smd ./cmd/smd
exec bin/smd demo "$@"
