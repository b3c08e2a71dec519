#!/usr/bin/env bash
# Writes every output kfunc-scan makes for the shipped tree and, when given,
# the real trees and BTFs, into OUTDIR: manifests, patched BTFs, docs,
# headers, diffs. Run it with two binaries and `diff -r` the folders to show
# that a refactoring changed no byte.
#
#   scripts/outputs.sh BIN OUTDIR [LINUX_6_12 [LINUX_6_1]]
#
# BIN built with `--features test-support`: the 6.18 outputs use the hidden
# `synth-manifest`, which a plain build refuses.
#
# Real BTF comes from ../shared/data (KFUNC_SCAN_SHARED_DATA overrides).
set -uo pipefail
bin=$(realpath "$1"); out=$2; linux=${3:-}; old=${4:-}
here=$(cd "$(dirname "$0")/.." && pwd)
data=${KFUNC_SCAN_SHARED_DATA:-$here/../shared/data}
rm -rf "$out"; mkdir -p "$out"; cd "$out" || exit 2
# outputs are named relative to OUTDIR, so that messages naming them compare
out=.
run() { # name, then the command's arguments: stdout, stderr and status kept
    local name=$1; shift
    "$bin" "$@" >"$out/$name.out" 2>"$out/$name.err"
    echo $? >"$out/$name.rc"
}
each_tree() { # tag tree
    local tag=$1 tree=$2
    run "$tag.scan" "$tree"
    cp "$out/$tag.scan.out" "$out/$tag.json"
    run "$tag.header" header --manifest "$out/$tag.json"
    run "$tag.header-all" header --manifest "$out/$tag.json" --with-selftests
    run "$tag.docs" docs --manifest "$out/$tag.json" -o "$out/$tag.docs.d" --source-url https://example.org/linux
    run "$tag.yaml" docs --manifest "$out/$tag.json" --format ebpf-docs -o "$out/$tag.kfuncs.yaml"
    run "$tag.self-diff" diff "$out/$tag.json" "$out/$tag.json" --json
}
each_tree mini "$here/testdata/linux-mini"
run mini.excl scan "$here/testdata/linux-mini" --exclude 'drivers/**'
if [ -n "$linux" ]; then
    each_tree l612 "$linux"
    if [ -f "$data/linux-6.12.117/vmlinux.btf" ]; then
        run l612.tags patch-btf --manifest "$out/l612.json" --btf "$data/linux-6.12.117/vmlinux.btf" --add-decl-tags -o "$out/l612.tagged.btf" --report "$out/l612.tags.report"
        run l612.nfct patch-btf --manifest "$out/l612.json" --btf "$data/linux-6.12.117/nf_conntrack.btf" --base "$data/linux-6.12.117/vmlinux.btf" --add-decl-tags -o "$out/l612.nfct.btf" --report "$out/l612.nfct.report"
    fi
fi
if [ -n "$old" ]; then
    each_tree l61 "$old"
    if [ -n "$linux" ]; then
        run diff61-612 diff "$out/l61.json" "$out/l612.json"
        run diff61-612.json diff "$out/l61.json" "$out/l612.json" --json
        run diff61-612.all diff "$out/l61.json" "$out/l612.json" --with-selftests --fail-on-breaking
    fi
fi
if [ -f "$data/linux-6.18/vmlinux.btf" ]; then
    run l618.synth synth-manifest --btf "$data/linux-6.18/vmlinux.btf"
    cp "$out/l618.synth.out" "$out/l618.json"
    run l618.patch patch-btf --manifest "$out/l618.json" --btf "$data/linux-6.18/vmlinux.btf" -o "$out/l618.patched.btf" --report "$out/l618.patch.report"
fi
# the generator line names the version; timing-free, so nothing else varies
echo "outputs in $out: $(find "$out" -type f | wc -l) files"
