#!/usr/bin/env bash
# Builds 6.12 selftest BPF programs that call kfuncs, with clang, into a
# directory, for `check`'s agreement test and benchmark
# (tests/it/check_selftests.rs, scripts/bench-check.sh, docs/check.md).
#
#   scripts/selftests-objects.sh OUT [PROG.c...]
#
# $KFUNC_SCAN_LINUX: the 6.12 tree (programs in
# tools/testing/selftests/bpf/progs/, flags from its Makefile's
# BPF_CFLAGS and CLANG_BPF_BUILD_RULE). vmlinux.h is the running kernel's
# (/sys/kernel/btf/vmlinux, or $VMLINUX_BTF): the objects are loaded on
# that kernel, so their CO-RE types must be its own; the kfunc
# declarations are 6.12's (bpf_experimental.h, bpf_kfuncs.h, the programs'
# own externs). The libbpf headers are the tree's (bpf_helper_defs.h made
# by its scripts/bpf_doc.py).
#
# Without PROG.c arguments, the list below. Each object is OUT/NAME.o;
# OUT/skipped.txt lists what was not built and why (a program that needs
# bpf_testmod, or that this clang cannot build), OUT/built.txt what was.
# -Werror is left out: clang versions warn differently, and a warning does
# not change the kfunc calls.
set -euo pipefail

out=${1:?usage: selftests-objects.sh OUT [PROG.c...]}
shift
linux=${KFUNC_SCAN_LINUX:?set KFUNC_SCAN_LINUX to the 6.12 tree}
btf=${VMLINUX_BTF:-/sys/kernel/btf/vmlinux}
st="$linux/tools/testing/selftests/bpf"
[ -d "$st/progs" ] || { echo "$st/progs: no such directory" >&2; exit 2; }
command -v clang >/dev/null || { echo "clang is not installed" >&2; exit 2; }
command -v bpftool >/dev/null || { echo "bpftool is not installed" >&2; exit 2; }

# 30 programs calling kfuncs: successes and *_fail.c ones whose failures
# are (partly) on kfunc grounds; none needs bpf_testmod (task_kfunc_success,
# refcounted_kptr, wq, test_ksyms_weak, kfunc_call_* and more do: the
# selftests load that module first)
default=(
    task_kfunc_failure.c cgrp_kfunc_success.c cgrp_kfunc_failure.c
    cpumask_success.c cpumask_failure.c
    rbtree.c rbtree_fail.c linked_list.c linked_list_fail.c
    local_kptr_stash_fail.c
    iters_task.c iters_css_task.c iters_css.c iters_task_failure.c
    dynptr_success.c dynptr_fail.c
    test_task_under_cgroup.c xdp_metadata.c test_xdp_dynptr.c
    preempt_lock.c test_get_xattr.c cgroup_hierarchical_stats.c
    test_kfunc_dynptr_param.c exceptions.c arena_list.c
    verifier_vfs_reject.c test_bpf_nf.c rcu_read_lock.c test_fsverity.c
    type_cast.c
)
progs=("$@")
[ ${#progs[@]} -gt 0 ] || progs=("${default[@]}")

mkdir -p "$out/include/bpf"
: > "$out/skipped.txt"
: > "$out/built.txt"
bpftool btf dump file "$btf" format c > "$out/include/vmlinux.h"
cp "$linux"/tools/lib/bpf/{bpf_helpers.h,bpf_tracing.h,bpf_core_read.h,bpf_endian.h} "$out/include/bpf/"
python3 "$linux/scripts/bpf_doc.py" --header --file "$linux/include/uapi/linux/bpf.h" \
    > "$out/include/bpf/bpf_helper_defs.h"

# clang's own include directories, as the Makefile's CLANG_SYS_INCLUDES
sys=$(clang -v -E - </dev/null 2>&1 | sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

for p in "${progs[@]}"; do
    src="$st/progs/$p"
    name=${p%.c}
    if [ ! -f "$src" ]; then
        echo "$name: not in this tree" >> "$out/skipped.txt"
        continue
    fi
    if grep -q 'bpf_testmod\|bpf_kfunc_call_test\|bpf_kfunc_common_test' "$src"; then
        echo "$name: needs bpf_testmod (the selftests' test module)" >> "$out/skipped.txt"
        continue
    fi
    # shellcheck disable=SC2086
    if err=$(clang -g -Wall -D__TARGET_ARCH_x86 -mlittle-endian \
        -I"$out/include" -I"$st" -I"$linux/tools/include/uapi" \
        -Wno-compare-distinct-pointer-types -fno-strict-aliasing $sys \
        -O2 --target=bpf -mcpu=v3 -c "$src" -o "$out/$name.o" 2>&1); then
        echo "$name" >> "$out/built.txt"
    else
        why=$(printf '%s\n' "$err" | grep -m1 'error:' | sed 's|^.*error: ||')
        echo "$name: clang $(clang -dumpversion) cannot build it: $why" >> "$out/skipped.txt"
        rm -f "$out/$name.o"
    fi
done
echo "$(wc -l < "$out/built.txt") objects in $out, $(wc -l < "$out/skipped.txt") skipped (skipped.txt)" >&2
