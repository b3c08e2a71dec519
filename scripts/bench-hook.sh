#!/usr/bin/env bash
# The build step's share of a vmlinux relink: a kernel build made by
# scripts/kernel-e2e.sh relinked (vmlinux removed, `make vmlinux`) with the
# hook (PAHOLE=scripts/kbuild/pahole-wrapper: the scan with the build's
# .config, then patch-btf) and without it (PAHOLE=pahole), in alternation,
# medians. Prints the ratio with/without and the hook's share of the relink.
#
#   scripts/bench-hook.sh [BUILD_DIR] [RUNS]
#
# BUILD_DIR: kernel-e2e.sh's O= directory (default /tmp/kfunc-scan-e2e),
# built already; its source tree is read from its Makefile. RUNS: pairs
# (default 3; a relink is ~10-40 s here). KFUNC_SCAN: the binary the hook
# runs (default: this checkout's release build, built first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/kfunc-scan-e2e}
runs=${2:-3}
[ -f "$out/.config" ] && [ -f "$out/vmlinux" ] || {
	echo "bench-hook: $out: not a kernel build (run scripts/kernel-e2e.sh first)" >&2
	exit 2
}
# the O= directory's Makefile includes the source tree's
src=$(sed -n 's/^include \(.*\)\/Makefile$/\1/p' "$out/Makefile" | head -1)
[ -f "$src/Makefile" ] || {
	echo "bench-hook: $out/Makefile does not name a source tree" >&2
	exit 2
}
if [ -z "${KFUNC_SCAN:-}" ]; then
	cargo build --release --quiet --manifest-path "$here/../Cargo.toml"
	KFUNC_SCAN=$here/../target/release/kfunc-scan
fi
export KFUNC_SCAN
jobs=${JOBS:-2}
relink() {
	printf "sh -c 'rm -f %s/vmlinux && make -s -C %s O=%s -j%s PAHOLE=%s vmlinux >/dev/null'" \
		"$out" "$src" "$out" "$jobs" "$1"
}
echo "build: $out, tree: $src ($(nproc) cores)"
res=$(python3 "$here/bench-pair.py" "$runs" \
	with-hook "$(relink "$here/kbuild/pahole-wrapper")" \
	plain-pahole "$(relink pahole)")
echo "$res"
# leave the build as kernel-e2e.sh made it: with the hook
eval "$(relink "$here/kbuild/pahole-wrapper")" || true
ratio=$(echo "$res" | sed -n 's/.*ratio:.*pairs: \([0-9.]*\).*/\1/p' | tail -1)
if [ -n "$ratio" ]; then
	python3 -c "import sys; r=float(sys.argv[1]); print(f'the hook adds {100*(r-1):.0f}% to a vmlinux relink ({100*(r-1)/r:.0f}% of a relink with it)')" "$ratio"
fi
