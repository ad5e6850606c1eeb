#!/usr/bin/env bash
# scripts/vendor-web.sh: refreshes the browser libraries that the demo site
# and the dashboard use (internal/site/static/vendor), from the npm
# registry at the versions pinned below, with their licences. The files are
# committed and embedded in the smd binary: nothing is loaded from the
# internet at run time, and a build needs no npm.
#
# To move to another version: change it below, run this script, look at
# the diff, run scripts/test.sh (the browser tests play through them).
# Needs npm and tar.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# package@version  files to take (from the package's root)  licence file
# (or "header:<file>" when the licence is only in a file's header).
PACKAGES=(
	"hls.js@1.7.4|dist/hls.min.js|LICENSE"
	"dashjs@5.2.1|dist/modern/umd/dash.mediaplayer.min.js|LICENSE.md"
	"uplot@1.6.32|dist/uPlot.iife.min.js dist/uPlot.min.css|LICENSE"
	"qrcode-generator@2.0.4|dist/qrcode.js|header:dist/qrcode.js"
)

dest=internal/site/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$dest"
mkdir -p "$dest"
{
	echo "# Vendored by scripts/vendor-web.sh from the npm registry; do not edit."
	echo "# package version file sha256"
} >"$dest/VERSIONS.txt"
for entry in "${PACKAGES[@]}"; do
	IFS='|' read -r spec files licence <<<"$entry"
	name=${spec%@*}
	version=${spec##*@}
	echo "== $name $version"
	# npm pack checks the tarball against the registry's integrity hash.
	tgz=$(cd "$work" && npm pack "$spec" --silent | tail -1)
	mkdir -p "$work/$name"
	tar -xzf "$work/$tgz" -C "$work/$name"
	pkg="$work/$name/package"
	got=$(node -e 'process.stdout.write(require(process.argv[1]).version)' "$pkg/package.json")
	if [ "$got" != "$version" ]; then
		echo "$name: got version $got, want $version" >&2
		exit 1
	fi
	mkdir -p "$dest/$name"
	for f in $files; do
		cp "$pkg/$f" "$dest/$name/$(basename "$f")"
		printf '%s %s %s %s\n' "$name" "$version" "$name/$(basename "$f")" \
			"$(sha256sum "$dest/$name/$(basename "$f")" | cut -d' ' -f1)" >>"$dest/VERSIONS.txt"
	done
	case $licence in
	header:*)
		# The licence is the file's opening comment block.
		awk '/^\/\//{print; next} {exit}' "$pkg/${licence#header:}" >"$dest/$name/LICENSE"
		;;
	*)
		cp "$pkg/$licence" "$dest/$name/LICENSE"
		;;
	esac
done
echo "vendored into $dest:"
cat "$dest/VERSIONS.txt"
