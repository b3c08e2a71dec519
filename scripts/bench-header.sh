#!/usr/bin/env bash
# Size and speed of `header --btf` and `avail` against bpftool, same run
# (issue 11). Targets: the header for the seven kfuncs of the real-client
# test at most 2% of bpftool's vmlinux.h for the same kernel; `header --btf`
# at most 0.2 x `bpftool btf dump file BTF format c`'s wall time; `avail` at
# most 0.5 x `bpftool btf dump file BTF` (the raw dump, which finds no
# kfunc by itself).
#
#   scripts/bench-header.sh [RUNS]      on the running kernel's /sys/kernel/btf
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root="$here/.."
runs="${1:-21}"
btf=/sys/kernel/btf/vmlinux
seven=bpf_task_from_pid,bpf_task_release,bpf_rcu_read_lock,bpf_rcu_read_unlock,bpf_iter_num_new,bpf_iter_num_next,bpf_iter_num_destroy
[ -r "$btf" ] || { echo "bench-header: $btf is absent (a kernel without BTF?)" >&2; exit 2; }
command -v bpftool >/dev/null || { echo "bench-header: bpftool (Debian package bpftool) is needed" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench-header: /usr/bin/time (Debian package time) is needed" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/release/kfunc-scan"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "kernel: $(uname -r) ($(nproc) cores); $(bpftool version | head -1)"
"$bin" header --btf "$btf" --kfuncs "$seven" -o "$work/kfuncs.h"
bpftool btf dump file "$btf" format c > "$work/vmlinux.h"
ours=$(stat -c %s "$work/kfuncs.h")
theirs=$(stat -c %s "$work/vmlinux.h")
python3 -c "import sys; o,t=int(sys.argv[1]),int(sys.argv[2]); print(f'size: header for the 7 kfuncs {o} bytes, vmlinux.h {t} bytes: {100*o/t:.3f}% (target <= 2%)')" "$ours" "$theirs"
echo "avail: $("$bin" avail -q | tail -n +2 | wc -l) kfuncs"

echo "== header --btf (7 kfuncs) vs bpftool btf dump format c"
python3 "$here/bench-pair.py" "$runs" \
    kfunc-scan "$bin header --btf $btf --kfuncs $seven -o $work/out.h" \
    bpftool "bpftool btf dump file $btf format c"
echo "== avail vs bpftool btf dump (raw)"
python3 "$here/bench-pair.py" "$runs" \
    kfunc-scan "$bin avail -q" \
    bpftool "bpftool btf dump file $btf"
