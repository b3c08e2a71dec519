#!/bin/bash
# kfunc-scan as a step of a real kernel build, end to end (Linux 6.x):
# tinyconfig + scripts/kbuild/bpf.config, bzImage built out of tree (O=)
# with PAHOLE=scripts/kbuild/pahole-wrapper, then the vmlinux's .BTF is
# checked for the bpf_kfunc decl tags that Debian's pahole 1.24 does not
# emit (so without the hook there are none) and for the foo_impl FUNCs the
# manifest's pairs name; the running kernel must accept that BTF, and, with
# qemu, the built kernel boot and load a program calling kfuncs
# (scripts/kbuild/boot.sh). Each step's time is printed.
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

if [ -z "${KFUNC_SCAN:-}" ]; then
	for b in "$repo/target/release/kfunc-scan" "$repo/target/debug/kfunc-scan"; do
		[ -x "$b" ] && KFUNC_SCAN=$b && break
	done
fi
[ -n "${KFUNC_SCAN:-}" ] || {
	echo "kernel-e2e: no kfunc-scan binary: cargo build, or set KFUNC_SCAN" >&2
	exit 2
}
export KFUNC_SCAN
[ -f "$src/Makefile" ] || {
	echo "kernel-e2e: $src: not a kernel tree" >&2
	exit 2
}
for tool in pahole bpftool flex bison bc; do
	command -v $tool >/dev/null || {
		echo "kernel-e2e: $tool missing (apt-get install flex bison bc libelf-dev libssl-dev dwarves bpftool)" >&2
		exit 2
	}
done

step() {
	local name=$1
	shift
	local t0=$SECONDS
	echo "== $name" >&2
	"$@"
	echo "== $name: $((SECONDS - t0)) s" >&2
}

mk() {
	nice -n "$nice" make -C "$src" O="$out" PAHOLE="$wrapper" "$@"
}

mkdir -p "$out"
if [ ! -f "$out/.config" ]; then
	step tinyconfig mk tinyconfig
	step fragment "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$fragment"
	step olddefconfig mk olddefconfig
fi
# every symbol the fragment sets must have survived olddefconfig (a
# dependency left out drops it silently)
lost=0
while IFS= read -r line; do
	case $line in CONFIG_*=*) ;; *) continue ;; esac
	grep -qx -- "$line" "$out/.config" || {
		echo "kernel-e2e: $line did not survive olddefconfig" >&2
		lost=1
	}
done <"$fragment"
[ $lost -eq 0 ] || exit 1

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
elif [ -n "${KFUNC_SCAN_REQUIRE_DATA:-}" ]; then
	echo "kernel-e2e: FAILED: cannot boot (needs qemu-system-x86 busybox-static clang) and KFUNC_SCAN_REQUIRE_DATA is set" >&2
	exit 1
else
	echo "kernel-e2e: SKIPPED the boot (needs qemu-system-x86 busybox-static clang)" >&2
fi
echo "kernel-e2e: ok" >&2
