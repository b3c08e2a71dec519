#!/usr/bin/env bash
# Times `kfunc-scan patch-btf` against the same transformation done with
# libbpf (benches/libbpf_patch.c, built here with Debian's libbpf-dev) on a
# real vmlinux BTF, in the same run; prints the median wall ratio and peak
# memory against the input's size. Target (issue 3): at most 0.2 x libbpf's
# wall time; peak memory at most 4 x the input.
#
#   scripts/bench-patch.sh [BTF] [RUNS]    BTF defaults to ../shared/data/linux-6.18/vmlinux.btf
#
# The manifest is derived from the BTF itself (`kfunc-scan synth-manifest`:
# every bpf_kfunc whose last parameter is a pointer gets a verifier-supplied
# last argument), since that kernel's source is not at hand.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root="$here/.."
in="${1:-$root/../shared/data/linux-6.18/vmlinux.btf}"
runs="${2:-11}"
[ -f "$in" ] || { echo "bench-patch: $in is absent" >&2; exit 2; }
pkg-config --exists libbpf || { echo "bench-patch: libbpf-dev is needed" >&2; exit 2; }
# synth-manifest is in a build with `test-support` only
cargo build --release --quiet --features test-support --manifest-path "$root/Cargo.toml"
bin="$root/target/release/kfunc-scan"
ref="$root/target/libbpf_patch"
cc -O2 -Wall -o "$ref" "$root/benches/libbpf_patch.c" $(pkg-config --cflags --libs libbpf)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" synth-manifest --btf "$in" > "$work/m.json"
python3 - "$work/m.json" > "$work/plan" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
in_kfunc_set = {e["name"] for s in m["sets"] if s["kind"] == "kfuncs" for e in s["entries"]}
for k in m["kfuncs"]:
    g = k.get("magic")
    omitted = ",".join(map(str, g["omitted_params"])) if g else "-"
    impl = g["impl_name"] if g else "-"
    print(k["name"], impl, omitted, 0, 0)
PY

# Same result first: every FUNC's prototype as bpftool prints it, by name.
"$bin" patch-btf --manifest "$work/m.json" --btf "$in" -o "$work/ours.btf" -q
"$ref" "$in" "$work/plan" "$work/libbpf.btf"
if command -v bpftool >/dev/null; then
    python3 - "$work/ours.btf" "$work/libbpf.btf" <<'PY'
import subprocess, sys, re
def funcs(path):
    out = subprocess.run(["bpftool", "btf", "dump", "file", path], capture_output=True, text=True, check=True).stdout
    types, cur = {}, None
    for line in out.splitlines():
        m = re.match(r"\[(\d+)\] (\S+) '([^']*)'(.*)", line)
        if m:
            cur = int(m.group(1)); types[cur] = [m.group(2), m.group(3), m.group(4), []]
        elif cur is not None:
            types[cur][3].append(line.strip())
    res = {}
    for t in types.values():
        if t[0] == "FUNC":
            proto = types[int(re.search(r"type_id=(\d+)", t[2]).group(1))]
            res[t[1]] = (re.search(r"linkage=(\S+)", t[2]).group(1), proto[2], tuple(proto[3]))
    return res
a, b = funcs(sys.argv[1]), funcs(sys.argv[2])
assert a == b, "kfunc-scan and libbpf disagree on %d FUNCs" % sum(1 for k in a if a.get(k) != b.get(k))
print(f"same result: {len(a)} FUNCs with identical prototypes and linkage in both outputs")
PY
fi
size=$(stat -c %s "$in")
echo "input: $in ($((size / 1024)) KiB), $(grep -c . "$work/plan") kfuncs, $(nproc) cores"
python3 "$here/bench-pair.py" "$runs" \
    kfunc-scan "$bin patch-btf --manifest '$work/m.json' --btf '$in' -o '$work/o1.btf' -q" \
    libbpf "$ref '$in' '$work/plan' '$work/o2.btf'" | tee "$work/result"
# The reference rewrites its output in place, as pahole does, and on ext4 pays
# for the kernel starting to write it out at once; kfunc-scan's output swap
# does not. So that the ratio is not read as a file-system effect, the same
# pairing again with the reference removing its old output first (no flush).
echo "again, the reference removing its old output first (same write cost):"
python3 "$here/bench-pair.py" "$runs" \
    kfunc-scan "$bin patch-btf --manifest '$work/m.json' --btf '$in' -o '$work/o1.btf' -q" \
    libbpf "LIBBPF_PATCH_UNLINK_FIRST=1 $ref '$in' '$work/plan' '$work/o2.btf'"
python3 - "$size" "$work/result" <<'PY'
import re, sys
size = int(sys.argv[1]) / 1024 / 1024
rss = float(re.search(r"kfunc-scan: .*peak RSS median ([\d.]+) MiB", open(sys.argv[2]).read()).group(1))
print(f"{'memory':>12}: kfunc-scan peak {rss:.1f} MiB = {rss / size:.2f} x the input ({size:.1f} MiB)")
PY
