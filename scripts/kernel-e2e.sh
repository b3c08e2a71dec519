#!/bin/bash
# kfunc-scan as a step of a real kernel build, end to end (Linux 6.x):
# tinyconfig + scripts/kbuild/bpf.config, bzImage built out of tree (O=)
# with PAHOLE=scripts/kbuild/pahole-wrapper, then the vmlinux's .BTF is
# checked for the bpf_kfunc decl tags that Debian's pahole 1.24 does not
# emit (so without the hook there are none) and for the foo_impl FUNCs the
# manifest's pairs name; the running kernel must accept that BTF, and, with
# qemu, the built kernel boot and load a program calling kfuncs
# (scripts/kbuild/boot.sh). A module of the tree (tcp_bbr) and an
# out-of-tree one (scripts/kbuild/extmod, make M=) get their decl tags too,
# insert, and the second's kfunc is called. Last, two relinks with the
# hook's watcher (KFUNC_SCAN_WATCH=1), its answer and manifest checked.
# Each step's time is printed.
#
#   scripts/kernel-e2e.sh [LINUX_SRC] [BUILD_DIR]
#
# LINUX_SRC: a clean tree (default: the cached 6.12 one); BUILD_DIR: the O=
# directory, reused when it exists (default /tmp/kfunc-scan-e2e). KFUNC_SCAN:
# the binary (default: this checkout's target/release or target/debug one).
# JOBS (default 2) and NICE (default 10): the machine is shared.
# Needs: flex bison bc libelf-dev libssl-dev dwarves (pahole) bpftool.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
src=${1:-$HOME/.cache/kfunc-scan/linux-source-6.12/linux-source-6.12}
out=${2:-/tmp/kfunc-scan-e2e}
jobs=${JOBS:-2}
nice=${NICE:-10}
wrapper=$here/kbuild/pahole-wrapper
fragment=$here/kbuild/bpf.config

e2e_me=kernel-e2e
# shellcheck source=kbuild/e2e-lib.sh
. "$here/kbuild/e2e-lib.sh"
e2e_find_kfunc_scan
[ -f "$src/Makefile" ] || e2e_die 2 "$src: not a kernel tree"
e2e_need pahole bpftool flex bison bc python3

mk() {
	nice -n "$nice" make -C "$src" O="$out" PAHOLE="$wrapper" "$@"
}

mkdir -p "$out"
out=$(cd "$out" && pwd)
e2e_configure "$out" "$fragment"

step bzImage mk -j"$jobs" bzImage modules

# what pahole 1.24 cannot have written: the hook's decl tags and pairs
dump=$out/vmlinux.btf.txt
step "btf dump" sh -c 'bpftool btf dump file "$1" >"$2"' sh "$out/vmlinux" "$dump"
tags=$(grep -c "DECL_TAG 'bpf_kfunc'" "$dump" || true)
manifest=$out/kfunc-scan.json
impls=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
print("\n".join(sorted({k["magic"]["impl_name"] for k in m["kfuncs"]
    if k.get("magic") and k.get("object") == "vmlinux"})))' "$manifest")
missing=0
for i in $impls; do
	grep -q "FUNC '$i' " "$dump" || {
		echo "kernel-e2e: vmlinux's BTF lacks $i" >&2
		missing=1
	}
done
echo "kernel-e2e: vmlinux has $tags bpf_kfunc decl tags; pairs: $(echo $impls)" >&2
[ "$tags" -gt 0 ] && [ $missing -eq 0 ] || {
	echo "kernel-e2e: FAILED" >&2
	exit 1
}

# the module: split BTF on vmlinux's, encoded by pahole -J --btf_base and
# patched by the hook with --base; its kfuncs (the manifest's entries in
# that object) must each carry a bpf_kfunc decl tag
module=$out/net/ipv4/tcp_bbr.ko
[ -f "$module" ] || {
	echo "kernel-e2e: FAILED: $module was not built" >&2
	exit 1
}
mdump=$out/tcp_bbr.btf.txt
bpftool -B "$out/vmlinux" btf dump file "$module" >"$mdump"
want=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
print(len({k["name"] for k in m["kfuncs"] if k.get("object") == "tcp_bbr"}))' "$manifest")
mtags=$(grep -c "DECL_TAG 'bpf_kfunc'" "$mdump" || true)
echo "kernel-e2e: tcp_bbr.ko has $mtags bpf_kfunc decl tags; the manifest has $want kfuncs in tcp_bbr" >&2
[ "$want" -gt 0 ] && [ "$mtags" -eq "$want" ] || {
	echo "kernel-e2e: FAILED: the module's decl tags and the manifest disagree" >&2
	exit 1
}

# an out-of-tree module (make M=): the hook scans its directory against
# the kernel tree (no kernel manifest knows it) and tags its kfunc in the
# module's split BTF; built in a copy, so that the checkout stays clean
ext=$out/extmod
rm -rf "$ext"
cp -r "$here/kbuild/extmod" "$ext"
step "out-of-tree module" mk M="$ext" modules
extko=$ext/kfunc_scan_ext.ko
edump=$out/kfunc_scan_ext.btf.txt
bpftool -B "$out/vmlinux" btf dump file "$extko" >"$edump"
etags=$(grep -c "DECL_TAG 'bpf_kfunc'" "$edump" || true)
ewant=$(python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
print(len(m["kfuncs"]))' "$ext/kfunc-scan.json")
echo "kernel-e2e: kfunc_scan_ext.ko (M=) has $etags bpf_kfunc decl tags; its manifest has $ewant kfuncs" >&2
[ "$ewant" -eq 1 ] && [ "$etags" -eq 1 ] || {
	echo "kernel-e2e: FAILED: the out-of-tree module's decl tags and its manifest disagree" >&2
	exit 1
}

# the patched .BTF as the image holds it, offered to the running kernel's
# BTF loader (exit 2: it cannot be asked here, which is no failure)
objcopy -O binary --only-section=.BTF "$out/vmlinux" "$out/vmlinux.btf"
set +e
"$KFUNC_SCAN" btf-check "$out/vmlinux.btf"
rc=$?
set -e
[ $rc -ne 1 ] || {
	echo "kernel-e2e: FAILED: the running kernel rejects vmlinux's BTF" >&2
	exit 1
}
[ $rc -eq 0 ] || echo "kernel-e2e: SKIPPED the running kernel's BTF check (btf-check could not ask it: exit $rc)" >&2

# booted, the kernel parses that BTF, and its verifier takes a program
# calling kfuncs (bpftool in a busybox initramfs)
if command -v qemu-system-x86_64 >/dev/null && command -v busybox >/dev/null &&
	command -v clang >/dev/null; then
	BOOT_MODULE=$module step boot "$here/kbuild/boot.sh" "$out"
	# the out-of-tree module inserts, and a program calls its kfunc
	BOOT_MODULE=$extko BOOT_PROG=$here/kbuild/extmod-prog.bpf.c \
		step "boot, out-of-tree module" "$here/kbuild/boot.sh" "$out"
elif [ -n "${KFUNC_SCAN_REQUIRE_DATA:-}" ]; then
	echo "kernel-e2e: FAILED: cannot boot (needs qemu-system-x86 busybox-static clang) and KFUNC_SCAN_REQUIRE_DATA is set" >&2
	exit 1
else
	echo "kernel-e2e: SKIPPED the boot (needs qemu-system-x86 busybox-static clang)" >&2
fi
# Last (vmlinux relinked, its modules' split BTF would need a rebuild to
# match it): two relinks with a watcher (the hook's KFUNC_SCAN_WATCH=1): the first
# link's hook starts it, the second's scan asks it what changed (nothing:
# an O= build writes no source) and takes the manifest from the memo; that
# manifest must be the one a scan without cache or watcher writes
export KFUNC_SCAN_WATCH=1
rm -f "$out/vmlinux"
step "relink, the hook starting a watcher" mk -j"$jobs" vmlinux
rm -f "$out/vmlinux"
step "relink, the watcher answering" mk -j"$jobs" vmlinux
unset KFUNC_SCAN_WATCH
# the hook's scan as it runs at a link, asked what the cache did
said=$(cd "$out" && KFUNC_SCAN_TIMING=1 "$KFUNC_SCAN" "$src" --config ./.config --arch x86 \
	--cache "$out/.kfunc-scan-cache" -q -o "$out/rescan.json" 2>&1 | grep '^timing: \(memo\|watcher\)' || true)
echo "kernel-e2e: a rescan after the watched relinks: $(echo $said)" >&2
case $said in
*"watcher vouched"*) ;;
*) e2e_die 1 "the watcher did not answer the rescan" ;;
esac
"$KFUNC_SCAN" watch --stop --cache "$out/.kfunc-scan-cache" ||
	e2e_die 1 "no watcher served $out/.kfunc-scan-cache after the watched relinks"
# named as the hook names them (Kbuild exports ARCH=x86)
(cd "$out" && "$KFUNC_SCAN" "$src" --config ./.config --arch x86 -q -o "$out/plain.json") || true
cmp -s "$out/plain.json" "$manifest" || {
	echo "kernel-e2e: FAILED: the watched relink's manifest is not a plain scan's" >&2
	diff "$out/plain.json" "$manifest" | head -20 >&2
	exit 1
}
echo "kernel-e2e: the watched relinks' manifest is a plain scan's, byte for byte" >&2

echo "kernel-e2e: ok" >&2
