#!/usr/bin/env python3
"""Two vmlinux BTFs compared signature by signature, independent of type IDs.

    btf-func-compare.py A.txt B.txt

A and B: `bpftool btf dump file vmlinux` text (scripts/kernel-e2e-7.sh keeps
it as BUILD_DIR/e2e/vmlinux.btf.txt). Each FUNC is rendered as a C-like
signature with its types spelled out by name and shape (never by ID: the two
builds number their types differently), and so is each decl tag (tag name,
the FUNC it is on, the parameter index). Prints the counts, then every FUNC
present in one only or with a different signature, and every decl tag in
one only. Exit 0 when the FUNCs and decl tags are the same, 1 when they
differ, 2 when a file cannot be read.

Used to compare kfunc-scan's pairing (patch-btf before resolve_btfids) with
resolve_btfids' own (pahole >= 1.26 writes the bpf_kfunc tags it pairs by).
"""
import re
import sys

HEAD = re.compile(r"\[(\d+)\] (\w+) '([^']*)'(.*)")
PARAM = re.compile(r"\t'([^']*)' type_id=(\d+)")
MEMBER = re.compile(r"\t'([^']*)' type_id=(\d+) bits_offset=(\d+)")


def load(path):
    types = {}
    cur = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            h = HEAD.match(line)
            if h:
                cur = int(h.group(1))
                types[cur] = {"kind": h.group(2), "name": h.group(3), "rest": h.group(4), "items": []}
                continue
            p = PARAM.match(line)
            if p and cur is not None:
                types[cur]["items"].append((p.group(1), int(p.group(2))))
    return types


def field(t, key):
    m = re.search(r"\b%s=(-?\d+)" % key, t["rest"])
    return int(m.group(1)) if m else None


def spell(types, tid, depth=0):
    """A type by name and shape: named types by kind and name (their layout
    is compared through their own FUNCs' uses, not here), anonymous ones
    structurally, a bounded depth down."""
    if tid == 0:
        return "void"
    t = types.get(tid)
    if t is None or depth > 12:
        return "?%d" % tid
    k, n = t["kind"], t["name"]
    if k in ("INT", "FLOAT"):
        return n
    if k in ("STRUCT", "UNION", "ENUM", "ENUM64", "FWD"):
        if n != "(anon)":
            return "%s %s" % (k.lower(), n)
        return "%s{%s}" % (k.lower(), ",".join(spell(types, i, depth + 1) for _, i in t["items"]))
    if k == "TYPEDEF":
        return n
    if k in ("PTR", "CONST", "VOLATILE", "RESTRICT"):
        return "%s(%s)" % (k.lower(), spell(types, field(t, "type_id"), depth + 1))
    if k == "TYPE_TAG":
        return "tag:%s(%s)" % (n, spell(types, field(t, "type_id"), depth + 1))
    if k == "ARRAY":
        return "%s[%s]" % (spell(types, field(t, "type_id"), depth + 1), field(t, "nr_elems"))
    if k == "FUNC_PROTO":
        return "fn(%s)->%s" % (
            ", ".join("%s %s" % (spell(types, i, depth + 1), pn) for pn, i in t["items"]),
            spell(types, field(t, "ret_type_id"), depth + 1))
    return "%s %s" % (k, n)


def funcs(types):
    out = {}
    for tid, t in types.items():
        if t["kind"] != "FUNC":
            continue
        linkage = re.search(r"linkage=(\w+)", t["rest"])
        sig = "%s %s" % (linkage.group(1) if linkage else "?", spell(types, field(t, "type_id")))
        # a name twice (static functions of one name): keep every signature
        out.setdefault(t["name"], []).append(sig)
    return {n: sorted(s) for n, s in out.items()}


def decl_tags(types):
    out = set()
    for t in types.values():
        if t["kind"] != "DECL_TAG":
            continue
        target = types.get(field(t, "type_id"), {"kind": "?", "name": "?"})
        out.add("%s on %s %s component_idx=%s" % (
            t["name"], target["kind"], target["name"], field(t, "component_idx")))
    return out


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        a, b = load(argv[1]), load(argv[2])
    except OSError as e:
        print("btf-func-compare: %s" % e, file=sys.stderr)
        return 2
    fa, fb = funcs(a), funcs(b)
    ta, tb = decl_tags(a), decl_tags(b)
    same = sorted(n for n in fa if n in fb and fa[n] == fb[n])
    differ = sorted(n for n in fa if n in fb and fa[n] != fb[n])
    only_a = sorted(set(fa) - set(fb))
    only_b = sorted(set(fb) - set(fa))
    print("types: %d / %d; FUNCs: %d / %d; same signature: %d; different: %d; only in A: %d; only in B: %d"
          % (len(a), len(b), len(fa), len(fb), len(same), len(differ), len(only_a), len(only_b)))
    print("decl tags: %d / %d; only in A: %d; only in B: %d"
          % (len(ta), len(tb), len(ta - tb), len(tb - ta)))
    for n in differ:
        print("differ: %s\n  A: %s\n  B: %s" % (n, " | ".join(fa[n]), " | ".join(fb[n])))
    for n in only_a:
        print("only in A: %s %s" % (n, " | ".join(fa[n])))
    for n in only_b:
        print("only in B: %s %s" % (n, " | ".join(fb[n])))
    for t in sorted(ta - tb):
        print("tag only in A: %s" % t)
    for t in sorted(tb - ta):
        print("tag only in B: %s" % t)
    return 0 if not (differ or only_a or only_b or ta != tb) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
