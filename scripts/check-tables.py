#!/usr/bin/env python3
"""The tables of docs/check.md, reproducibly: `check` of the 6.12 selftest
objects (scripts/selftests-objects.sh) against four kernels (the matrix),
and, as root, each program loaded alone by libbpf on the running kernel
(the agreement table).

    scripts/check-tables.py OBJDIR --bin kfunc-scan --m61 M61.json \
        --m612 M612.json --btf618 vmlinux.btf [--agreement] [--json OUT]

The loads: a small libbpf program (built here with cc -lbpf) opens the
object, sets only the one program to load, and loads it: libbpf resolves
every kfunc extern of the object (as `bpftool prog load` does), then the
verifier checks the program. Its log is classified: kfunc-related (the
messages of docs/check.md's table) or not (then out of `check`'s scope).
Prints markdown on stdout.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

LOADER = r"""
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
static int print(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	return l == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
}
int main(int argc, char **argv)
{
	struct bpf_program *p;
	int found = 0;
	if (argc != 3)
		return 2;
	libbpf_set_print(print);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || libbpf_get_error(obj))
		return 3;
	bpf_object__for_each_program(p, obj) {
		int me = !strcmp(bpf_program__name(p), argv[2]);
		bpf_program__set_autoload(p, me);
		found |= me;
	}
	if (!found)
		return 4;
	int err = bpf_object__load(obj);
	bpf_object__close(obj);
	return err ? 1 : 0;
}
"""

# libbpf's and the verifier's kfunc messages, and check's code for each
KFUNC_REASONS = [
    (re.compile(r"extern \(func ksym\) '([^']+)': not found in kernel or module BTFs"), "kfunc-missing"),
    (re.compile(r"extern \(func ksym\) '([^']+)': func_proto \[\d+\] incompatible with kernel"), "kfunc-prototype"),
    (re.compile(r"program must be sleepable to call sleepable kfunc (\S+)"), "kfunc-sleepable"),
    (re.compile(r"calling kernel function (\S+) is not allowed"), "kfunc-prog-type"),
    # an absent __weak kfunc called where bpf_ksym_exists() does not make
    # the call dead code: the verifier names no kfunc (matched by code)
    (re.compile(r"invalid kernel function call not eliminated in verifier pass()"), "kfunc-missing"),
]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def check_json(binary, objs, kernels):
    args = [binary, "check", *objs]
    for k in kernels:
        args += ["--kernel", k]
    r = run(args + ["--format", "json"])
    if r.returncode not in (0, 1):
        sys.exit(f"check exited {r.returncode}: {r.stderr}")
    return json.loads(r.stdout)


def first_error(cell):
    for k in cell["kfuncs"]:
        for f in k["findings"]:
            if f["severity"] == "error":
                return f["code"], k["name"]
    return None


def matrix(binary, objs, kernels, labels):
    rep = check_json(binary, objs, kernels)
    out = ["| object | " + " | ".join(labels) + " |", "| --- |" + " --- |" * len(labels)]
    for o in rep["objects"]:
        name = os.path.basename(o["path"])
        row = []
        for ki in range(len(kernels)):
            cells = [p["kernels"][ki] for p in o["programs"]]
            bad = [c for c in cells if not c["loads"]]
            if not bad:
                row.append(f"loads ({len(cells)})")
                continue
            code, kf = first_error(bad[0])
            more = len({first_error(c) for c in bad}) - 1
            extra = f" +{more}" if more else ""
            row.append(f"{len(bad)}/{len(cells)}: {code} `{kf}`{extra}")
        out.append(f"| {name} | " + " | ".join(row) + " |")
    return "\n".join(out), rep


def classify(log):
    """(check's code, kfunc) for a kfunc-related failure, or None."""
    for rx, code in KFUNC_REASONS:
        m = rx.search(log)
        if m:
            name = m.group(1)
            return code, re.sub(r"___.*$", "", name) or None
    return None


def same_reason(theirs, ours):
    """Whether the load's kfunc reason is one of check's: by code and
    kfunc, or by code alone where the verifier names no kfunc."""
    if theirs[1] is None:
        return any(code == theirs[0] for code, _ in ours)
    return theirs in ours


def other_reason(log):
    if "permission error while running as root" in log:
        return "EPERM before the verifier ran (no log): this kernel refuses the program itself"
    lines = [l for l in log.splitlines() if l.strip() and not l.startswith("processed ")]
    for l in lines:
        if "BEGIN PROG LOAD LOG" in l:
            # the verifier's last line before the log ends
            i = lines.index(l)
            body = [x for x in lines[i + 1:] if "END PROG LOAD LOG" not in x and not x.startswith("libbpf:")]
            if body:
                return body[-1][:90]
    for l in lines:
        if l.startswith("libbpf:") and ("failed" in l or "bad" in l or "unsupported" in l or "invalid" in l.lower()):
            return l[:90]
    return (lines[-1] if lines else "?")[:90]


def weak_incompatible(o):
    """The __weak kfuncs check found of another prototype (a note)."""
    return {
        k["name"]
        for p in o["programs"]
        for k in p["kernels"][0]["kfuncs"]
        if k["weak"] and k["status"] == "incompatible"
    }


LIBBPF = "?"


def agreement(binary, objs, m612, loader):
    """Per program: check (running kernel's BTF; the 6.12 manifest for
    program types and sleepable) against a libbpf load on it."""
    rep = check_json(binary, objs, ["/sys/kernel/btf", m612])
    rows, totals = [], {"agree_load": 0, "agree_refuse": 0, "out_of_scope": 0, "not_comparable": 0, "limit": 0, "disagree": 0}
    disagreements = []
    for o in rep["objects"]:
        path = o["path"]
        name = os.path.basename(path)
        # every extern check found missing or incompatible in the object
        # (libbpf resolves them all before loading any program)
        object_errors = set()
        for p in o["programs"]:
            for k in p["kernels"][0]["kfuncs"]:
                for f in k["findings"]:
                    if f["severity"] == "error" and f["code"] in ("kfunc-missing", "kfunc-prototype"):
                        object_errors.add((f["code"], k["name"]))
        counts = {k: 0 for k in totals}
        notes = []
        for p in o["programs"]:
            run_k, m_k = p["kernels"][0], p["kernels"][1]
            ours = set()
            for k in run_k["kfuncs"]:
                for f in k["findings"]:
                    if f["severity"] == "error":
                        ours.add((f["code"], k["name"]))
            resolved = {k["name"] for k in run_k["kfuncs"] if k["status"] == "ok"}
            for k in m_k["kfuncs"]:
                if k["name"] not in resolved:
                    continue
                for f in k["findings"]:
                    if f["severity"] == "error" and f["code"] in ("kfunc-prog-type", "kfunc-sleepable"):
                        ours.add((f["code"], k["name"]))
            ours_obj = ours | object_errors
            try:
                r = run([loader, path, p["name"]], timeout=60)
                code, log = r.returncode, r.stderr
            except subprocess.TimeoutExpired:
                code, log = -1, "timed out after 60 s"
            theirs = classify(log) if code != 0 else None
            if code == 0:
                kind = "agree_load" if not ours_obj else "disagree"
                what = "loads" if not ours else f"check: {sorted(ours)}; loads"
            elif theirs and same_reason(theirs, ours_obj):
                kind = "agree_refuse"
                what = f"{theirs[0]} `{theirs[1] or 'a __weak kfunc the verifier does not name'}`"
            elif theirs and theirs[0] == "kfunc-prototype" and theirs[1] in weak_incompatible(o):
                # libbpf 1.1 refuses a __weak kfunc of another prototype;
                # the 6.12 tree's libbpf (and check) set it to 0
                kind = "limit"
                what = f"{theirs[0]} `{theirs[1]}` (__weak: libbpf {LIBBPF} refuses it, newer libbpf sets it to 0: check says a note)"
            elif theirs:
                kind = "disagree"
                what = f"{theirs[0]} `{theirs[1] or 'a __weak kfunc the verifier does not name'}`"
            elif ours:
                kind = "not_comparable"
                what = f"check: {sorted(ours)[0][0]}; load: {other_reason(log)}"
            else:
                kind = "out_of_scope"
                what = other_reason(log)
            counts[kind] += 1
            totals[kind] += 1
            if kind == "disagree":
                disagreements.append(f"{name} {p['name']}: {what}; check: {sorted(ours_obj)}")
            if kind in ("agree_refuse", "not_comparable", "limit", "disagree"):
                notes.append(f"{p['name']}: {what}")
        rows.append((name, len(o["programs"]), counts, notes))
    out = [
        "| object | programs | load, both | refused for the same kfunc reason | out of scope (not kfunc) | not comparable | named limit | disagree |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, n, c, _ in rows:
        out.append(
            f"| {name} | {n} | {c['agree_load']} | {c['agree_refuse']} | {c['out_of_scope']} | {c['not_comparable']} | {c['limit']} | {c['disagree']} |"
        )
    t = totals
    out.append(
        f"| **all** | {sum(r[1] for r in rows)} | {t['agree_load']} | {t['agree_refuse']} | {t['out_of_scope']} | {t['not_comparable']} | {t['limit']} | {t['disagree']} |"
    )
    return "\n".join(out), rows, disagreements


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("objdir")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--m61", required=True)
    ap.add_argument("--m612", required=True)
    ap.add_argument("--btf618", required=True)
    ap.add_argument("--agreement", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    built = open(os.path.join(a.objdir, "built.txt")).read().split()
    objs = [os.path.join(a.objdir, f"{b}.o") for b in built]
    release = os.uname().release
    kernels = [a.m61, a.m612, a.btf618, "/sys/kernel/btf"]
    labels = ["6.1 manifest", "6.12 manifest", "6.18 BTF (shared)", f"running ({release})"]
    text, _ = matrix(a.bin, objs, kernels, labels)
    print("### The matrix\n")
    print(text)
    result = {"disagreements": None}
    if a.agreement:
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "load1.c")
            open(src, "w").write(LOADER)
            loader = os.path.join(d, "load1")
            r = run(["cc", "-O2", "-o", loader, src, "-lbpf"])
            if r.returncode != 0:
                sys.exit(f"cannot build the libbpf loader: {r.stderr}")
            global LIBBPF
            v = run(["bpftool", "version"]).stdout
            m = re.search(r"libbpf v(\S+)", v)
            LIBBPF = m.group(1) if m else "?"
            text, rows, dis = agreement(a.bin, objs, a.m612, loader)
        print(f"\n### Agreement with libbpf {LIBBPF} and the verifier on the running kernel ({release})\n")
        print(text)
        print("\nPer program (kfunc refusals, not comparable, disagreements):\n")
        for name, _, _, notes in rows:
            for n in notes:
                print(f"- {name} {n}")
        result["disagreements"] = dis
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
