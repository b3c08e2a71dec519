#!/bin/bash
# kfunc-scan as a step of a real Linux 7.x build, end to end, by hand:
# tinyconfig + scripts/kbuild/bpf.config, bzImage built out of tree (O=),
# either stock or with RESOLVE_BTFIDS=scripts/kbuild/resolve-btfids-wrapper
# (kfunc-scan patches pahole's raw .tmp_vmlinux1.BTF.1 before the kernel's
# resolve_btfids pairs, sorts and numbers it). Then vmlinux's BTF is counted
# (bpf_kfunc decl tags, foo_impl FUNCs, the implicit-argument kfuncs' reduced
# prototypes), and, with qemu, the kernel booted and a program calling
# bpf_stream_vprintk by its reduced name loaded, run, and its BPF stdout
# stream read (scripts/kbuild/boot.sh with kfunc-prog-7.bpf.c and
# prog-run-stream.c). Each step's time is printed.
#
#   scripts/kernel-e2e-7.sh [--stock] LINUX_SRC [BUILD_DIR]
#
# --stock: no hook; what is measured is reported, nothing is expected (with
# pahole < 1.26 the kernel pairs nothing and the program is refused; with a
# current pahole it pairs by itself). Without --stock every check must pass.
# LINUX_SRC: a clean 7.x tree (none is fetched or committed here); BUILD_DIR:
# the O= directory (default /tmp/kfunc-scan-e2e-7), reused when it exists:
# switching between --stock and the hook, or pahole, relinks only (the
# objects do not depend on either). PAHOLE: the pahole to build with
# (default `pahole`; the kernel picks its flags by its version).
# KFUNC_SCAN: the binary (default: this checkout's target/release or
# target/debug one). JOBS (default 2) and NICE (default 10): the machine is
# shared. Results: BUILD_DIR/e2e/ (the BTF as `bpftool btf dump` text and as
# C, the boot's verdict).
# Needs: flex bison bc libelf-dev libssl-dev dwarves (pahole) bpftool python3.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
stock=
if [ "${1:-}" = --stock ]; then
	stock=1
	shift
fi
src=${1:?usage: kernel-e2e-7.sh [--stock] LINUX_SRC [BUILD_DIR]}
out=${2:-/tmp/kfunc-scan-e2e-7}
jobs=${JOBS:-2}
nice=${NICE:-10}
pahole=${PAHOLE:-pahole}
fragment=$here/kbuild/bpf.config

e2e_me=kernel-e2e-7
# shellcheck source=kbuild/e2e-lib.sh
. "$here/kbuild/e2e-lib.sh"
e2e_find_kfunc_scan
[ -f "$src/Makefile" ] && [ -f "$src/tools/bpf/resolve_btfids/main.c" ] ||
	e2e_die 2 "$src: not a kernel tree"
grep -q '^VERSION = [7-9]' "$src/Makefile" ||
	e2e_die 2 "$src: not Linux 7.x (for 6.x: scripts/kernel-e2e.sh)"
e2e_need "$pahole" bpftool flex bison bc python3
pahole=$(readlink -f "$(command -v "$pahole")")

hook=()
[ -n "$stock" ] || hook=(RESOLVE_BTFIDS="$here/kbuild/resolve-btfids-wrapper")
mk() {
	nice -n "$nice" make -C "$src" O="$out" PAHOLE="$pahole" "${hook[@]}" "$@"
}

mkdir -p "$out"
out=$(cd "$out" && pwd)
# olddefconfig each run: CONFIG_PAHOLE_VERSION follows PAHOLE
e2e_configure "$out" "$fragment" always

# the link is all that differs between the stock build and the hooked one,
# and between pahole versions: redo it when either changed
label=hook
[ -z "$stock" ] || label=stock
mode="$label $pahole $("$pahole" --version)"
if [ "$(cat "$out/.kfunc-scan-e2e-mode" 2>/dev/null)" != "$mode" ]; then
	rm -f "$out/vmlinux" "$out/vmlinux.unstripped" "$out"/.tmp_vmlinux*
fi
echo "kernel-e2e-7: $mode, $(grep '^CONFIG_PAHOLE_VERSION=' "$out/.config")" >&2
step bzImage mk -j"$jobs" bzImage modules
echo "$mode" >"$out/.kfunc-scan-e2e-mode"

res=$out/e2e
mkdir -p "$res"
dump=$res/vmlinux.btf.txt
step "btf dump" sh -c 'bpftool btf dump file "$1" >"$2" && bpftool btf dump file "$1" format c >"$3"' \
	sh "$out/vmlinux" "$dump" "$res/vmlinux.h"

# the implicit-argument kfuncs the build puts in vmlinux, from a manifest of
# this .config (the hook's own when it ran; a scan's exit 1 is a tree with
# diagnostics, its manifest whole)
manifest=$out/kfunc-scan.json
if [ -n "$stock" ] || [ ! -f "$manifest" ]; then
	manifest=$res/kfunc-scan.json
	set +e
	"$KFUNC_SCAN" "$src" --config "$out/.config" --arch x86_64 -q -o "$manifest"
	rc=$?
	set -e
	[ $rc -le 1 ] || exit 2
fi

# per implicit-argument kfunc: its _impl FUNC present, and the kfunc's own
# prototype (what a program calls) as the kernel's rule makes it: the
# parameters before the first verifier-supplied one (resolve_btfids'
# process_kfunc_with_implicit_args stops there, and the verifier takes every
# argument from the reduced prototype's length on as implicit), counted from
# the source's parameters in the manifest, not from kfunc-scan's own plan
set +e
python3 - "$manifest" "$dump" "$res/pairs.txt" <<'PY'
import json, re, sys

manifest, dump, report = sys.argv[1:4]
m = json.load(open(manifest))
implicit = set(m.get("implicit_arg_types") or ["bpf_prog_aux", "btf_struct_meta"])
types, name_of = {}, {}
cur = None
for line in open(dump):
    h = re.match(r"\[(\d+)\] (\w+) '([^']*)'(.*)", line)
    if h:
        cur = int(h.group(1))
        types[cur] = {"kind": h.group(2), "name": h.group(3), "rest": h.group(4), "params": []}
        continue
    p = re.match(r"\t'([^']*)' type_id=(\d+)", line)
    if p and cur is not None:
        types[cur]["params"].append(int(p.group(2)))
funcs = {t["name"]: t for t in types.values() if t["kind"] == "FUNC"}


def proto(func):
    tid = int(re.search(r"type_id=(\d+)", func["rest"]).group(1))
    return types[tid]["params"]


def is_implicit(tid):
    # a pointer, through modifiers, to one of implicit_arg_types
    seen = 0
    while types.get(tid, {}).get("kind") in ("CONST", "VOLATILE", "RESTRICT", "TYPE_TAG", "TYPEDEF") and seen < 16:
        tid = int(re.search(r"type_id=(\d+)", types[tid]["rest"]).group(1))
        seen += 1
    t = types.get(tid)
    if not t or t["kind"] != "PTR":
        return False
    tid = int(re.search(r"type_id=(\d+)", t["rest"]).group(1))
    while types.get(tid, {}).get("kind") in ("CONST", "VOLATILE", "RESTRICT", "TYPE_TAG") and seen < 32:
        tid = int(re.search(r"type_id=(\d+)", types[tid]["rest"]).group(1))
        seen += 1
    t = types.get(tid)
    return bool(t) and t["kind"] == "STRUCT" and t["name"] in implicit


def kernel_rule(params):
    # the index of the first `[const] struct T *` with T an implicit type
    for i, p in enumerate(params):
        t = re.sub(r"\bconst\b", "", p.get("type") or "").split()
        if len(t) == 3 and t[0] == "struct" and t[1] in implicit and t[2] == "*":
            return i
    return len(params)


bad = 0
with open(report, "w") as out:
    for k in sorted(m["kfuncs"], key=lambda k: k["name"]):
        magic = k.get("magic") or {}
        if magic.get("convention") != "implicit_args" or k.get("object") != "vmlinux":
            continue
        name, impl = magic["bpf_name"], magic["impl_name"]
        f, i = funcs.get(name), funcs.get(impl)
        want = kernel_rule(k.get("params") or [])
        reduced = f is not None and not any(is_implicit(t) for t in proto(f))
        ok = f is not None and i is not None and reduced and len(proto(f)) == want
        line = "%s: %s, %s (%s params, the kernel's rule: %d), %s (%s params)%s" % (
            name, "paired" if ok else "paired, NOT as the kernel pairs" if f and i and reduced else "NOT paired",
            "reduced" if reduced else "full" if f else "absent", len(proto(f)) if f else "-", want,
            impl + (" present" if i else " absent"), len(proto(i)) if i else "-",
            " (legacy _impl in source)" if magic.get("legacy_impl") else "")
        print(line, file=out)
        bad += not ok
sys.exit(1 if bad else 0)
PY
pairs_rc=$?
set -e
tags=$(grep -c "DECL_TAG 'bpf_kfunc'" "$dump" || true)
impls=$(grep -c "FUNC '[^']*_impl' " "$dump" || true)
sed 's/^/kernel-e2e-7:   /' "$res/pairs.txt" >&2
echo "kernel-e2e-7: vmlinux has $tags bpf_kfunc decl tags, $impls *_impl FUNCs; $(grep -c ': paired, reduced' "$res/pairs.txt" || true) of $(wc -l <"$res/pairs.txt") implicit-argument kfuncs paired as the kernel pairs them" >&2

verdict=ok
if [ -z "$stock" ] && { [ "$tags" -eq 0 ] || [ $pairs_rc -ne 0 ]; }; then
	echo "kernel-e2e-7: FAILED: the hooked build's BTF lacks the tags, or a pair, or pairs a kfunc not as the kernel does ($res/pairs.txt)" >&2
	verdict=FAILED
fi

# an out-of-tree module (make M=, scripts/kbuild/extmod-7) whose kfunc's
# last argument the verifier supplies: its split BTF must pair
# kfunc_scan_ext_aux (1 parameter, what programs call) with
# kfunc_scan_ext_aux_impl (2); built in a copy, the checkout left clean
ext=$out/extmod-7
rm -rf "$ext"
cp -r "$here/kbuild/extmod-7" "$ext"
step "out-of-tree module" mk M="$ext" modules
extko=$ext/kfunc_scan_ext7.ko
bpftool -B "$out/vmlinux" btf dump file "$extko" >"$res/extmod-7.btf.txt"
set +e
ext_pair=$(python3 - "$res/extmod-7.btf.txt" <<'PY'
import re, sys
types = {}
for line in open(sys.argv[1]):
    h = re.match(r"\[(\d+)\] (\w+) '([^']*)'", line)
    if h:
        t, v = re.search(r"\btype_id=(\d+)", line), re.search(r"\bvlen=(\d+)", line)
        types[int(h.group(1))] = (h.group(2), h.group(3), t and t.group(1), v and v.group(1))
funcs = {n: t for (k, n, t, _) in types.values() if k == "FUNC"}
def nparams(name):
    t = funcs.get(name)
    return None if t is None else int(types[int(t)][3] or 0)
a, i = nparams("kfunc_scan_ext_aux"), nparams("kfunc_scan_ext_aux_impl")
print("kfunc_scan_ext_aux: %s params, kfunc_scan_ext_aux_impl: %s" % (a, "absent" if i is None else "%d params" % i))
sys.exit(0 if (a, i) == (1, 2) else 1)
PY
)
ext_rc=$?
set -e
echo "kernel-e2e-7: out-of-tree module: $ext_pair" >&2
if [ -z "$stock" ] && [ $ext_rc -ne 0 ]; then
	echo "kernel-e2e-7: FAILED: the out-of-tree module's implicit-argument kfunc is not paired" >&2
	verdict=FAILED
fi

# booted, the kernel parses that BTF, and its verifier takes a program
# calling bpf_stream_vprintk by its reduced name; the program runs and
# its stdout stream is read back
if command -v qemu-system-x86_64 >/dev/null && command -v busybox >/dev/null &&
	command -v clang >/dev/null && command -v gcc >/dev/null; then
	set +e
	BOOT_PROG=$here/kbuild/kfunc-prog-7.bpf.c BOOT_RUN=$here/kbuild/prog-run-stream.c \
		step boot "$here/kbuild/boot.sh" "$out" | tee "$res/boot.txt"
	boot_rc=${PIPESTATUS[0]}
	set -e
	if [ -z "$stock" ] && [ "$boot_rc" -ne 0 ]; then
		echo "kernel-e2e-7: FAILED: the program was refused or did not run" >&2
		verdict=FAILED
	fi
	# the module inserts, and a program calls its kfunc by the reduced name
	set +e
	BOOT_MODULE=$extko BOOT_PROG=$here/kbuild/extmod-7-prog.bpf.c BOOT_RUN=$here/kbuild/prog-run-stream.c \
		step "boot, out-of-tree module" "$here/kbuild/boot.sh" "$out" | tee "$res/boot-extmod-7.txt"
	boot_rc=${PIPESTATUS[0]}
	set -e
	if [ -z "$stock" ] && { [ "$boot_rc" -ne 0 ] || ! grep -q 'kfunc_scan_ext_aux(41) says 42' "$res/boot-extmod-7.txt"; }; then
		echo "kernel-e2e-7: FAILED: the out-of-tree module's kfunc was refused, or did not run, or said another number" >&2
		verdict=FAILED
	fi
else
	echo "kernel-e2e-7: boot skipped (needs qemu-system-x86 busybox-static clang gcc)" >&2
fi
[ $verdict = ok ] || exit 1
echo "kernel-e2e-7: ok${stock:+ (stock: reported, nothing expected)}" >&2
