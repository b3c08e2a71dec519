#!/usr/bin/env bash
# `check` of the 30 selftest objects against four kernels, against
# `bpftool prog loadall` of the same 30 objects on the running kernel (issue
# 19: check must take less time than the loads it predicts). Medians of
# alternating runs (scripts/bench-pair.py); the ratio is check / bpftool,
# target < 1.0.
#
#   scripts/bench-check.sh [RUNS]
#
# Needs root (the loads), clang and bpftool, $KFUNC_SCAN_LINUX (the 6.12
# tree) and $KFUNC_SCAN_LINUX_OLD (the 6.1 tree), the shared 6.18 BTF.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root="$here/.."
runs="${1:-11}"
linux=${KFUNC_SCAN_LINUX:?set KFUNC_SCAN_LINUX to the 6.12 tree}
old=${KFUNC_SCAN_LINUX_OLD:?set KFUNC_SCAN_LINUX_OLD to the 6.1 tree}
btf618="$root/../shared/data/linux-6.18/vmlinux.btf"
[ -r "$btf618" ] || { echo "bench-check: $btf618 is absent" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench-check: loading programs needs root" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/release/kfunc-scan"
work=$(mktemp -d)
pin=/sys/fs/bpf/kfunc_scan_bench_$$
trap 'rm -rf "$work" "$pin"' EXIT

"$here/selftests-objects.sh" "$work/objs"
"$bin" "$linux" -q -o "$work/m612.json"
"$bin" "$old" -q -o "$work/m61.json"
objs=$(sed "s|.*|$work/objs/&.o|" "$work/objs/built.txt" | tr '\n' ' ')
n=$(wc -l < "$work/objs/built.txt")
cat > "$work/load.sh" <<LOAD
for o in $objs; do
    bpftool prog loadall "\$o" $pin >/dev/null 2>&1 || true
    rm -rf $pin
done
LOAD
echo "kernel: $(uname -r) ($(nproc) cores); $(bpftool version | head -1); $n objects"
loaded=0
for o in $objs; do
    if bpftool prog loadall "$o" "$pin" >/dev/null 2>&1; then loaded=$((loaded + 1)); fi
    rm -rf "$pin"
done
echo "bpftool prog loadall: $loaded of $n objects load on this kernel (the others fail on their first refused program)"
echo "== check, $n objects x 4 kernels vs bpftool prog loadall, $n objects x 1 kernel"
python3 "$here/bench-pair.py" "$runs" \
    kfunc-scan "$bin check $objs --kernel $work/m61.json --kernel $work/m612.json --kernel $btf618 --kernel /sys/kernel/btf --format json" \
    bpftool "bash $work/load.sh"
