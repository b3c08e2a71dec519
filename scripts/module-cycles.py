#!/usr/bin/env python3
"""Import cycles between sibling modules of each crate.

Every `crate::a::b` and `super::x` path a module's file names is an edge
from that module to the sibling (under their common parent) it leads into;
a strongly connected set of two or more siblings is a cycle: the modules
cannot be understood, tested or split apart one without the other. Prints
each cycle and exits 1 when there is one (0 otherwise).

    scripts/module-cycles.py [CRATE_SRC_DIR...]   default: src crates/*/src
"""
import glob
import os
import re
import sys

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP = re.compile(r"\buse\s+(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)


def modules(src):
    """module path (tuple) -> file, for every .rs file of a crate."""
    out = {}
    for f in glob.glob(os.path.join(src, "**", "*.rs"), recursive=True):
        rel = os.path.relpath(f, src)[:-3].split(os.sep)
        if rel[-1] in ("lib", "main") and len(rel) == 1:
            rel = []
        elif rel[-1] == "mod":
            rel = rel[:-1]
        out[tuple(rel)] = f
    return out


def code_of(text):
    """The code before a `#[cfg(test)]` module (tests may use anything),
    without comments (doc links name modules without depending on them)."""
    i = text.find("#[cfg(test)]")
    text = text if i < 0 else text[:i]
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def targets(mod, text, known):
    """The module paths `mod`'s text leads into."""
    found = set()
    refs = []
    for m in USE_GROUP.finditer(text):
        head, prefix, inner = m.group(1), m.group(2), m.group(3)
        for item in re.split(r",", inner):
            item = item.strip().split(" as ")[0].strip()
            first = item.split("::")[0].strip("{} \n")
            if first:
                refs.append((head, prefix + "::" + first))
    for m in PATH.finditer(text):
        refs.append((m.group(1), m.group(2)))
    for head, rest in refs:
        parts = [p for p in rest.split("::") if p]
        if head == "crate":
            base = []
        elif head == "self":
            base = list(mod)
        else:
            base = list(mod[:-1])
            while parts and parts[0] == "super":
                base = base[:-1]
                parts = parts[1:]
        path = tuple(base + parts)
        # the longest known module the path starts with
        while path and path not in known:
            path = path[:-1]
        if path != mod:
            found.add(path)
    return found


def sccs(nodes, edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main():
    roots = sys.argv[1:] or ["src"] + sorted(glob.glob("crates/*/src"))
    cycles = []
    for src in roots:
        known = modules(src)
        edges = {}
        for mod, f in known.items():
            text = code_of(open(f, encoding="utf-8").read())
            for t in targets(mod, text, known):
                # an edge between siblings: the two children of the common parent
                n = 0
                while n < min(len(mod), len(t)) and mod[n] == t[n]:
                    n += 1
                if n < len(mod) and n < len(t):
                    a, b = mod[: n + 1], t[: n + 1]
                    edges.setdefault(a, set()).add(b)
        nodes = sorted(set(edges) | {w for ws in edges.values() for w in ws})
        for comp in sccs(nodes, edges):
            if len(comp) > 1:
                names = sorted("::".join(c) for c in comp)
                cycles.append(f"{src}: {', '.join(names)}")
    for c in cycles:
        print("cycle:", c)
    print(f"module-cycles: {len(cycles)} cycle{'s' if len(cycles) != 1 else ''}")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
