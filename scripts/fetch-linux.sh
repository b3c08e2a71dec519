#!/usr/bin/env bash
# Fetches Debian's linux-source-<series> package and unpacks it into a cache
# folder; prints the tree's path. Does nothing (but print) when already there.
#
#   scripts/fetch-linux.sh [SERIES]        SERIES defaults to 6.12
#   KFUNC_SCAN_CACHE=/some/dir overrides the cache (default: ~/.cache/kfunc-scan)
set -euo pipefail
series="${1:-6.12}"
cache="${KFUNC_SCAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kfunc-scan}"
dest="$cache/linux-source-$series"
if [ -f "$dest/.complete" ]; then
    echo "$dest/linux-source-$series"
    exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
# apt-get download needs the package lists; refresh them once if it cannot
# find the package (a fresh machine has none).
(cd "$work" && apt-get download "linux-source-$series" >&2) || {
    apt-get update >&2
    (cd "$work" && apt-get download "linux-source-$series" >&2)
}
deb=$(ls "$work"/linux-source-"$series"_*.deb)
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" "./usr/src/linux-source-$series.tar.xz"
mkdir -p "$work/tree"
tar -xJf "$work/usr/src/linux-source-$series.tar.xz" -C "$work/tree"
basename "$deb" > "$work/tree/.package"
touch "$work/tree/.complete"
rm -rf "$dest"
mv "$work/tree" "$dest"
echo "$dest/linux-source-$series"
