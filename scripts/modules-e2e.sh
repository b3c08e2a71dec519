#!/usr/bin/env bash
# The build hook's module step over a whole distribution kernel: every module
# of Debian's linux-image-6.12.117+deb12-amd64 (4,230, all of them, not only
# those with kfunc sets) patched as the hook patches a module at its link
# (scripts/kbuild/kfunc-scan-hook.sh, ks_patch with a --base, make's default
# verbosity):
#
#   kfunc-scan patch-btf -q --btf NAME.ko --in-place --add-decl-tags \
#       --config OBJTREE/.config --manifest OBJTREE/kfunc-scan.json --base vmlinux
#
# with the manifest made as the hook makes it (the 6.12 source, Debian's
# .config). It shows:
# 1. the cost: the step's total and per-module wall time (median, 90th, max),
#    one module after another;
# 2. what a build prints: every line of every run, and the exit statuses;
# 3. what it changes: which modules, how many decl tags added (and that it
#    appends nothing else: 6.12 has no implicit-argument kfunc to pair);
# 4. that it tags the right functions. Debian built these with pahole 1.24:
#    their BTFs carry no `bpf_kfunc` decl tag (checked). The ground truth is
#    then what pahole >= 1.26 tags: every function of a set8 whose flags have
#    BTF_SET8_KFUNCS (BTF_KFUNCS_START) in the object's own .BTF_ids, when
#    the BTF has its FUNC. Per module, three sets of names must be equal:
#    that truth, the manifest's build view of the object (kfuncs-kind sets
#    placed in it, entries built), and the FUNCs patch-btf tagged. vmlinux
#    the same way (the hook's vmlinux step, without -q, on a copy of its raw
#    .BTF: a linked vmlinux's is allocated, the hook patches .tmp_vmlinux1's);
# 5. a second pass over the patched modules (a BTF that has the tags, as a
#    current pahole writes it) changes nothing and prints nothing.
# Any disagreement is named and the script exits 1; 2 on a setup failure.
#
#   scripts/modules-e2e.sh
#
# Needs: the cached debs of scripts/fetch-built-kernel.sh (it is run for
# vmlinux and the config; it downloads them if absent), the 6.12 source
# (KFUNC_SCAN_LINUX_612, default the cache's linux-source-6.12, as
# scripts/kernel-e2e.sh), bpftool, xz, objcopy, python3; KFUNC_SCAN, the binary
# (default: this checkout's target/release one). Temp dir under /tmp
# (TMPDIR), ~0.6 GB while it runs, removed at exit.
# Cost on the 2-core dev machine: ~80 s (extraction and xz -d 6 s, the scan
# 1 s, the 4,230 patch-btf runs 67 s, the checks 3 s). Measured there: 15 ms
# a module (median; max 42 ms), 0 lines printed, exit 0 everywhere; 7 modules
# changed (30 tags), all 7 agree with .BTF_ids; vmlinux 132 of 132.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cache=${KFUNC_SCAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kfunc-scan}
tree=${KFUNC_SCAN_LINUX_612:-$cache/linux-source-6.12/linux-source-6.12}
ks=${KFUNC_SCAN:-$repo/target/release/kfunc-scan}
version=6.12.117+deb12
release=$version-amd64

die() {
	echo "modules-e2e: $*" >&2
	exit 2
}
[ -x "$ks" ] || die "no kfunc-scan at $ks (cargo build --release, or set KFUNC_SCAN)"
[ -f "$tree/Makefile" ] || die "no 6.12 source at $tree (set KFUNC_SCAN_LINUX_612)"
for t in bpftool xz python3 dpkg-deb objcopy; do
	command -v "$t" >/dev/null || die "$t not found"
done

built=$("$here/fetch-built-kernel.sh" "$version") || die "scripts/fetch-built-kernel.sh failed"
deb=$(find "$cache/debs" -maxdepth 1 -name "linux-image-$release-unsigned_*.deb" | sort | tail -n 1)
[ -n "$deb" ] || die "no linux-image-$release-unsigned deb in $cache/debs"

work=$(mktemp -d "${TMPDIR:-/tmp}/modules-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT
t0=$(date +%s.%N)
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f} s')" "$1" "$(date +%s.%N)"; }

# 1. every module, decompressed; the objtree: .config, the manifest
echo "== 1. modules of $(basename "$deb")"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work" "./boot/config-$release" "./lib/modules/$release/kernel"
find "$work/lib/modules/$release/kernel" -name '*.ko.xz' -print0 | xargs -0 -r -n 64 -P "$(nproc)" xz -d
cmp -s "$work/boot/config-$release" "$built/config" || die "$deb's config is not $built/config"
obj=$work/objtree
mkdir -p "$obj"
cp "$built/config" "$obj/.config"
echo "extracted in $(since "$t0")"

echo "== 2. the manifest (kfunc-scan TREE --config .config, as the hook)"
t1=$(date +%s.%N)
set +e
"$ks" "$tree" --config "$obj/.config" --arch x86_64 -q -o "$obj/kfunc-scan.json"
rc=$?
set -e
[ "$rc" -le 1 ] || die "the scan of $tree failed ($rc)"
echo "scanned $tree in $(since "$t1") (exit $rc)"

echo "== 3-5. the module step over every module, then the checks"
rc=0
python3 - "$ks" "$obj" "$built/vmlinux" "$work/lib/modules/$release/kernel" "$work" <<'PY' || rc=$?
import collections, json, os, re, shutil, statistics, struct, subprocess, sys, time

ks, obj, vmlinux, kdir, work = sys.argv[1:6]
config = os.path.join(obj, ".config")
manifest_path = os.path.join(obj, "kfunc-scan.json")
manifest = json.load(open(manifest_path))
problems = []

def set8_kfuncs(path):
    """{set name: [function names]} of the set8s with BTF_SET8_KFUNCS in
    path's .BTF_ids, as pahole >= 1.26 reads them: the entries are the
    __BTF_ID__func__NAME__N symbols inside the set's extent (its symbol's
    size: 8 bytes of cnt and flags, then 8 per entry)."""
    data = open(path, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise SystemExit(f"{path}: not a 64-bit little-endian ELF")
    e_type = struct.unpack_from("<H", data, 16)[0]
    shoff, = struct.unpack_from("<Q", data, 40)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 58)
    secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    def sname(off):
        base = secs[shstrndx][4] + off
        return data[base:data.index(b"\0", base)].decode()
    ids = next((i for i, s in enumerate(secs) if sname(s[0]) == ".BTF_ids"), None)
    if ids is None:
        return {}
    sh = secs[ids]
    sec_addr, sec_off = sh[3], sh[4]
    symtab = next((s for s in secs if s[1] == 2), None)
    if symtab is None:
        return {}
    strtab = secs[symtab[6]]
    sets, funcs = {}, {}
    for k in range(symtab[5] // 24):
        st_name, st_info, st_other, st_shndx, st_value, st_size = struct.unpack_from("<IBBHQQ", data, symtab[4] + k * 24)
        if st_shndx != ids:
            continue
        b = strtab[4] + st_name
        name = data[b:data.index(b"\0", b)].decode()
        off = st_value - (sec_addr if e_type != 1 else 0)
        if name.startswith("__BTF_ID__set8__"):
            sets[name[len("__BTF_ID__set8__"):]] = (off, st_size)
        else:
            m = re.fullmatch(r"__BTF_ID__func__(.+)__\d+", name)
            if m:
                funcs[off] = m.group(1)
    out = {}
    for name, (off, size) in sets.items():
        flags, = struct.unpack_from("<I", data, sec_off + off + 4)
        if not flags & 1:  # BTF_SET8_KFUNCS
            continue
        out[name] = [funcs[o] for o in range(off + 8, off + size, 8) if o in funcs]
    return out

def btf_dump(path, base=None):
    args = ["bpftool"] + (["-B", base] if base else []) + ["btf", "dump", "file", path]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{' '.join(args)}: {r.stderr.strip()}")
    return r.stdout

def ntypes(dump):
    return max((int(m.group(1)) for m in re.finditer(r"^\[(\d+)\]", dump, re.M)), default=0)

def btf_facts(dump):
    """(FUNC names, names of the FUNCs a bpf_kfunc decl tag points at)"""
    funcs, tagged_ids = {}, []
    for line in dump.splitlines():
        m = re.match(r"\[(\d+)\] FUNC '([^']+)'", line)
        if m:
            funcs[int(m.group(1))] = m.group(2)
        m = re.match(r"\[\d+\] DECL_TAG 'bpf_kfunc' type_id=(\d+) component_idx=-1", line)
        if m:
            tagged_ids.append(int(m.group(1)))
    return set(funcs.values()), sorted(funcs.get(i, f"#{i}") for i in tagged_ids)

def view(obj_name):
    """The manifest's build view of an object: the entries built of the
    kfuncs-kind sets it places there."""
    return {e["name"] for s in manifest["sets"] if s["kind"] == "kfuncs" and s.get("object") == obj_name
            for e in s["entries"] if e.get("built")}

mods = sorted(os.path.join(d, f) for d, _, fs in os.walk(kdir) for f in fs if f.endswith(".ko"))
names = collections.Counter(os.path.basename(m) for m in mods)
dup = [n for n, c in names.items() if c > 1]
if dup:
    problems.append(f"two modules with one name: {dup}")
# -- Debian's BTFs: tags already? (pahole 1.24: none)
truth_of = {}
for m in mods:
    sets = set8_kfuncs(m)
    if sets:
        truth_of[os.path.basename(m)[:-3]] = sets
orig_tags, orig_types = {}, {}
for m in mods:
    n = os.path.basename(m)[:-3]
    if n in truth_of:
        d = btf_dump(m, vmlinux)
        orig_tags[n], orig_types[n] = len(btf_facts(d)[1]), ntypes(d)
v_funcs, v_tagged = btf_facts(btf_dump(vmlinux))
print(f"modules with kfunc sets in .BTF_ids: {len(truth_of)}; bpf_kfunc decl tags Debian's BTFs carry:"
      f" {sum(orig_tags.values())} in those modules, {len(v_tagged)} in vmlinux")

# -- the module step, one module after another, as make's links run it
times, statuses, lines, changed = [], collections.Counter(), [], []
t_all = time.perf_counter()
for m in mods:
    before = os.stat(m)
    cmd = [ks, "patch-btf", "-q", "--btf", m, "--in-place", "--add-decl-tags",
           "--config", config, "--manifest", manifest_path, "--base", vmlinux]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    times.append((time.perf_counter() - t, os.path.basename(m)))
    statuses[r.returncode] += 1
    for line in (r.stdout + r.stderr).splitlines():
        lines.append((os.path.basename(m), line))
    after = os.stat(m)
    if (before.st_ino, before.st_mtime_ns, before.st_size) != (after.st_ino, after.st_mtime_ns, after.st_size):
        changed.append(m)
total = time.perf_counter() - t_all
ts = sorted(t for t, _ in times)
slowest = max(times)
print(f"modules: {len(mods)}; patch-btf runs: total {total:.1f} s, per module median {statistics.median(ts)*1000:.1f} ms,"
      f" 90th {ts[int(len(ts)*0.9)]*1000:.1f} ms, max {slowest[0]*1000:.1f} ms ({slowest[1]})")
print(f"exit statuses: {dict(sorted(statuses.items()))}")
print(f"lines printed (-q): {len(lines)}")
kinds = collections.Counter(re.sub(r"^\S+: ", "", l).split(":")[0] for _, l in lines)
for mod, line in lines[:50]:
    print(f"  {mod}: {line}")
if kinds:
    print(f"  kinds: {dict(kinds)}")
if set(statuses) != {0}:
    problems.append(f"exit statuses {dict(statuses)}")
if lines:
    problems.append(f"{len(lines)} lines printed with -q")

# -- per module: truth (.BTF_ids, as pahole >= 1.26), manifest view, tags added
agree, disagree, with_kfuncs, tags_added = 0, [], 0, 0
changed_names = {os.path.basename(m)[:-3] for m in changed}
by_name = {os.path.basename(m)[:-3]: m for m in mods}
placed = {s.get("object") for s in manifest["sets"] if s["kind"] == "kfuncs"} - {None, "vmlinux"}
for name in sorted(set(truth_of) | placed | changed_names):
    with_kfuncs += 1
    m = by_name.get(name)
    if m is None:
        disagree.append(f"{name}: the manifest places kfunc sets {sorted(placed)} in an object no module is")
        continue
    dump = btf_dump(m, vmlinux)
    funcs, tagged = btf_facts(dump)
    sets = truth_of.get(name, {})
    truth = {f for fs in sets.values() for f in fs if f in funcs}
    not_in_btf = {f for fs in sets.values() for f in fs if f not in funcs}
    v = view(name)
    why = []
    tags_added += len(tagged)
    if name in orig_types and ntypes(dump) - orig_types[name] != len(tagged) - orig_tags[name]:
        why.append(f"{ntypes(dump) - orig_types[name]} types added for {len(tagged) - orig_tags[name]} tags (pairs?)")
    if len(tagged) != len(set(tagged)):
        why.append(f"a FUNC tagged twice: {tagged}")
    if truth != v:
        why.append(f"manifest's view {sorted(v)} vs .BTF_ids {sorted(truth)}")
    if set(tagged) != truth:
        why.append(f"tagged {sorted(set(tagged))} vs .BTF_ids {sorted(truth)}")
    if why:
        disagree.append(f"{name}: " + "; ".join(why))
    else:
        agree += 1
    print(f"  {name}: sets {sorted(sets)}, {len(truth)} kfuncs, {len(tagged)} tags added"
          + (f", not in its BTF: {sorted(not_in_btf)}" if not_in_btf else "") + ("" if not why else "  DISAGREE"))
untouched = len(mods) - len(changed)
print(f"modules changed: {len(changed)} ({sorted(changed_names)}); bpf_kfunc decl tags added: {tags_added}; left as they were: {untouched}")
print(f"agreement, modules with kfuncs in either view: {agree} agree, {len(disagree)} disagree;"
      f" the other {len(mods) - with_kfuncs}: none in .BTF_ids, none in the manifest, untouched")
problems += disagree
for n in changed_names - set(truth_of):
    problems.append(f"{n}: changed, but it has no kfunc set")

# -- 5. a second pass over what the first changed: a BTF with the tags
second_lines, second_changed = [], []
for m in changed:
    before = os.stat(m)
    r = subprocess.run([ks, "patch-btf", "-q", "--btf", m, "--in-place", "--add-decl-tags",
                        "--config", config, "--manifest", manifest_path, "--base", vmlinux],
                       capture_output=True, text=True)
    after = os.stat(m)
    if r.returncode:
        problems.append(f"second pass on {m}: exit {r.returncode}")
    second_lines += (r.stdout + r.stderr).splitlines()
    if (before.st_ino, before.st_mtime_ns) != (after.st_ino, after.st_mtime_ns):
        second_changed.append(os.path.basename(m))
print(f"second pass (tags present): {len(second_changed)} changed, {len(second_lines)} lines printed")
if second_changed or second_lines:
    problems.append(f"second pass changed {second_changed}, printed {second_lines}")

# -- vmlinux: the hook's vmlinux step (no -q) on its raw BTF: the linked
# vmlinux's .BTF is allocated (patch-btf refuses to resize it); the hook
# patches pahole's output in .tmp_vmlinux1, before the link
vdir = os.path.join(work, "vmlinux-btf")
os.mkdir(vdir)
vcopy = os.path.join(vdir, "vmlinux.btf")
subprocess.run(["objcopy", "-O", "binary", "--only-section=.BTF", vmlinux, vcopy], check=True)
shutil.copy(os.path.join(os.path.dirname(vmlinux), "config"), os.path.join(vdir, "config"))
r = subprocess.run([ks, "patch-btf", "--btf", vcopy, "--in-place", "--add-decl-tags",
                    "--config", config, "--manifest", manifest_path], capture_output=True, text=True)
print(f"vmlinux step: exit {r.returncode}; it prints:")
for line in (r.stdout + r.stderr).splitlines():
    print(f"  {line}")
if r.returncode:
    problems.append(f"vmlinux step: exit {r.returncode}")
vsets = set8_kfuncs(vmlinux)
vtruth = {f for fs in vsets.values() for f in fs if f in v_funcs}
vnot = {f for fs in vsets.values() for f in fs if f not in v_funcs}
_, vtagged = btf_facts(btf_dump(vcopy))
vv = view("vmlinux")
print(f"vmlinux: {len(vsets)} kfunc sets, {len(vtruth)} kfuncs in .BTF_ids with a FUNC"
      + (f" ({len(vnot)} without: {sorted(vnot)})" if vnot else "")
      + f"; manifest's view {len(vv)}; tags added {len(vtagged)}")
if vv != vtruth:
    problems.append(f"vmlinux: manifest's view only {sorted(vv - vtruth)}, .BTF_ids only {sorted(vtruth - vv)}")
if set(vtagged) != vtruth or len(vtagged) != len(set(vtagged)):
    problems.append(f"vmlinux: tagged only {sorted(set(vtagged) - vtruth)}, untagged {sorted(vtruth - set(vtagged))}")

if problems:
    print("MISMATCH:")
    for p in problems:
        print(f"  {p}")
    sys.exit(1)
print("OK: every module and vmlinux tagged as pahole >= 1.26 would; nothing printed at -q")
PY
echo "total $(since "$t0")"
exit "$rc"
