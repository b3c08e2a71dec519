#!/usr/bin/env bash
# Fetches a built Debian kernel and keeps what tells which kfunc sets it holds:
# vmlinux and the modules whose .BTF_ids hold BTF_SET8 sets, each reduced to
# .BTF, .BTF_ids, the notes (build ID) and the symbol table, plus the
# kernel's config. Prints the folder. Does nothing (but print) when already
# there. Ground truth for tests/it/built_kernel.rs (KFUNC_SCAN_BUILT_KERNEL).
#
#   scripts/fetch-built-kernel.sh [VERSION]   VERSION defaults to 6.12.117+deb12
#   KFUNC_SCAN_CACHE=/some/dir overrides the cache (default: ~/.cache/kfunc-scan)
#
# The folder: vmlinux, config, modules/NAME.ko, .package (the two debs).
#
# Where each part comes from:
# - vmlinux: linux-image-VERSION-amd64-dbg, the only package with vmlinux as an
#   ELF file with its symbols (vmlinuz has no symbol table). Its .BTF and
#   .BTF_ids are byte for byte those inside the shipped vmlinuz (same build
#   ID). It is the 11th member of a 1 GB xz stream: tar stops there
#   (--occurrence), a few seconds instead of decompressing it all.
# - modules and config: linux-image-VERSION-amd64-unsigned (107 MB). The -dbg
#   package's modules are full copies (their .BTF_ids and .BTF are the same
#   bytes; not stripped to NOBITS), but they are spread over its whole stream,
#   so reaching them costs minutes; the -unsigned ones are those Debian ships
#   (the signed package only adds signatures).
#
# Needs apt-get, dpkg-deb, tar, and binutils and xz-utils (installed if
# missing and root).
set -euo pipefail
version="${1:-6.12.117+deb12}"
release="$version-amd64"
cache="${KFUNC_SCAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kfunc-scan}"
dest="$cache/built-kernel-$version"
if [ -f "$dest/.complete" ]; then
    echo "$dest"
    exit 0
fi

missing=()
command -v objcopy >/dev/null && command -v nm >/dev/null || missing+=(binutils)
command -v xz >/dev/null || missing+=(xz-utils)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    apt-get install -y "${missing[@]}" >&2 || {
        apt-get update >&2
        apt-get install -y "${missing[@]}" >&2
    }
fi

mkdir -p "$cache/debs"
work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The .deb of package $1 in $cache/debs, downloaded there if absent. apt-get
# download needs the package lists; refresh them once if it cannot find the
# package (a fresh machine has none). It downloads into the work folder, so an
# interrupted download is never taken for a package.
deb_of() {
    local pkg="$1" found
    found=$(find "$cache/debs" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n 1)
    if [ -z "$found" ]; then
        mkdir -p "$work/dl"
        (cd "$work/dl" && apt-get download "$pkg" >&2) || {
            apt-get update >&2
            (cd "$work/dl" && apt-get download "$pkg" >&2)
        }
        found="$cache/debs/$(basename "$(ls "$work/dl/${pkg}"_*.deb)")"
        mv "$work/dl/$(basename "$found")" "$found"
    fi
    echo "$found"
}
dbg=$(deb_of "linux-image-$release-dbg")
unsigned=$(deb_of "linux-image-$release-unsigned")

# Keeps the sections the sets are read from, and with them the symbols that
# name the sets and their entries (those in other sections go).
reduce() {
    objcopy --only-section=.BTF --only-section=.BTF_ids --only-section='.note*' "$1" "$2" 2>"$work/objcopy.err" || {
        cat "$work/objcopy.err" >&2
        return 1
    }
    # vmlinux's segments lose their sections: warnings, not errors
    grep -v 'empty loadable segment' "$work/objcopy.err" >&2 || true
}

out="$work/out"
mkdir -p "$out/modules" "$work/x"

# vmlinux. tar leaves after the member, so dpkg-deb dies of SIGPIPE: only tar's
# status counts (it fails on a stream cut short), dpkg-deb's messages are shown
# then.
member="./usr/lib/debug/boot/vmlinux-$release"
set +o pipefail
if ! dpkg-deb --fsys-tarfile "$dbg" 2>"$work/dpkg.err" |
    tar -x -C "$work/x" --occurrence=1 "$member"; then
    cat "$work/dpkg.err" >&2
    echo "cannot extract $member from $dbg" >&2
    exit 1
fi
set -o pipefail
reduce "$work/x/$member" "$out/vmlinux"
rm -f "$work/x/$member"

# The config and the modules.
dpkg-deb --fsys-tarfile "$unsigned" |
    tar -x -C "$work/x" "./boot/config-$release" "./lib/modules/$release/kernel"
cp "$work/x/boot/config-$release" "$out/config"
find "$work/x/lib/modules/$release/kernel" -name '*.ko.xz' -print0 |
    xargs -0 -r -n 64 -P "$(nproc)" xz -d
# nm -A prints FILE:VALUE TYPE NAME; the set8 symbols are only ever in .BTF_ids
# (btf_ids.h), and reduce keeps only symbols of the kept sections.
find "$work/x/lib/modules/$release/kernel" -name '*.ko' -print0 |
    xargs -0 -r nm -A 2>/dev/null |
    { grep ' __BTF_ID__set8__' || true; } |
    cut -d: -f1 | sort -u >"$work/with-sets"
if [ ! -s "$work/with-sets" ]; then
    echo "no module of $unsigned holds a set8" >&2
    exit 1
fi
while read -r ko; do
    name=$(basename "$ko")
    if [ -e "$out/modules/$name" ]; then
        echo "two modules named $name" >&2
        exit 1
    fi
    reduce "$ko" "$out/modules/$name"
done <"$work/with-sets"

basename -a "$dbg" "$unsigned" >"$out/.package"
touch "$out/.complete"
rm -rf "$dest"
mv "$out" "$dest"
echo "$dest"
