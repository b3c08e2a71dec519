#!/bin/bash
# Boots a kernel built by scripts/kernel-e2e.sh under qemu with a busybox
# initramfs holding bpftool, and loads a program that
# calls kfuncs: the kernel must boot with the patched BTF, and its verifier
# find the kfuncs in it. Prints the guest's verdict; exit 0 when the
# program loaded.
#
#   scripts/kbuild/boot.sh BUILD_DIR
#
# BOOT_PROG: the program's source (default kfunc-prog.bpf.c beside this
# script; Linux 7.x: kfunc-prog-7.bpf.c). BOOT_RUN: a C file built static
# and run in the guest, after the load, with the pinned program's path
# (prog-run-stream.c runs it and prints its BPF stdout stream). BOOT_MODULE:
# a .ko inserted before the load (a module's kfuncs, in its split BTF): it
# must insert and its BTF appear in /sys/kernel/btf (the kernel checked it)
# unless BOOT_MODULE_OPTIONAL is set.
# Needs: qemu-system-x86 busybox-static clang bpftool (BOOT_RUN: gcc, libc6-dev).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: boot.sh BUILD_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

prog=${BOOT_PROG:-$here/kfunc-prog.bpf.c}
clang -target bpf -O2 -g -c "$prog" -o "$work/prog.o"

root=$work/root
mkdir -p "$root"/{bin,sbin,proc,sys,dev,lib64,lib/x86_64-linux-gnu,sys/fs/bpf}
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh mount echo cat reboot sleep insmod wc; do ln -s busybox "$root/bin/$a"; done
cp /usr/sbin/bpftool "$root/bin/bpftool"
# bpftool's libraries, where its interpreter looks for them
ldd /usr/sbin/bpftool | awk '/=> \//{print $3} /^\t\/lib64/{print $1}' | while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
cp "$work/prog.o" "$root/prog.o"
if [ -n "${BOOT_MODULE:-}" ]; then
	cp "$BOOT_MODULE" "$root/module.ko"
	# the name its BTF takes in /sys/kernel/btf
	basename "$BOOT_MODULE" .ko | tr - _ >"$root/module.name"
fi
if [ -n "${BOOT_RUN:-}" ]; then
	gcc -static -O2 -o "$root/bin/run-prog" "$BOOT_RUN"
fi
cat >"$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t bpf bpf /sys/fs/bpf
echo "BOOT-CHECK: btf $(cat /sys/kernel/btf/vmlinux | wc -c) bytes"
if [ -f /module.ko ]; then
	name=$(cat /module.name)
	# the module's split BTF, patched by the hook: the kernel checks it at load
	if insmod /module.ko && [ -r "/sys/kernel/btf/$name" ]; then
		echo "BOOT-CHECK: MODULE-BTF $name $(cat "/sys/kernel/btf/$name" | wc -c) bytes"
	else
		echo "BOOT-CHECK: MODULE-REFUSED $name"
	fi
fi
if bpftool prog load /prog.o /sys/fs/bpf/kfunc_prog >/tmp.log 2>&1; then
	echo "BOOT-CHECK: LOADED"
	if [ -x /bin/run-prog ]; then
		/bin/run-prog /sys/fs/bpf/kfunc_prog && echo "BOOT-CHECK: RAN" || echo "BOOT-CHECK: RUN FAILED"
	fi
else
	cat /tmp.log
	echo "BOOT-CHECK: REFUSED"
fi
reboot -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip) >"$work/initramfs.gz"

# TCG, not KVM: under nested virtualisation this tinyconfig kernel hung
# with -enable-kvm (and -cpu host failed outright); TCG boots it in ~30 s
timeout 240 qemu-system-x86_64 -m 256M -nographic -no-reboot \
	-kernel "$out/arch/x86/boot/bzImage" -initrd "$work/initramfs.gz" \
	-append "console=ttyS0 panic=-1" </dev/null | tee "$work/console.log" | grep -a "BOOT-CHECK\|libbpf\|error\|BTF\|prog-run-stream" || true
grep -aq "BOOT-CHECK: LOADED" "$work/console.log"
[ -z "${BOOT_RUN:-}" ] || grep -aq "BOOT-CHECK: RAN" "$work/console.log"
[ -z "${BOOT_MODULE:-}" ] || [ -n "${BOOT_MODULE_OPTIONAL:-}" ] ||
	grep -aq "BOOT-CHECK: MODULE-BTF" "$work/console.log"
