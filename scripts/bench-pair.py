#!/usr/bin/env python3
"""Times two commands in alternation (A B A B ...), after a warm-up of each,
and prints each one's median wall time and peak RSS, and the median of the
pair-by-pair ratios A/B. Shared by the project's benchmark scripts.

    bench-pair.py RUNS 'NAME_A' 'CMD_A' 'NAME_B' 'CMD_B'

Peak memory comes from /usr/bin/time (Debian package `time`); wall time from
the same run. Commands run through sh; their output is discarded.
"""
import statistics
import subprocess
import sys
import tempfile
import time


def once(cmd):
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        start = time.perf_counter()
        r = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", t.name, "sh", "-c", cmd],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - start
        t.seek(0)
        lines = [l for l in t.read().split() if l.isdigit()]
        rss_kib = int(lines[-1]) if lines else 0
    return wall, rss_kib, r.returncode


def main():
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    runs = int(sys.argv[1])
    name_a, cmd_a, name_b, cmd_b = sys.argv[2:]
    for cmd in (cmd_a, cmd_b):
        once(cmd)  # warm the page cache and the binaries
    a, b, ratios = [], [], []
    codes = set()
    for _ in range(runs):
        ra, rb = once(cmd_a), once(cmd_b)
        a.append(ra)
        b.append(rb)
        codes.update({(name_a, ra[2]), (name_b, rb[2])})
        ratios.append(ra[0] / rb[0] if rb[0] > 0 else float("inf"))
    med = statistics.median
    for name, xs in ((name_a, a), (name_b, b)):
        walls = [x[0] for x in xs]
        print(
            f"{name:>12}: wall median {med(walls):.3f} s (min {min(walls):.3f}, max {max(walls):.3f}), "
            f"peak RSS median {med([x[1] for x in xs]) / 1024:.1f} MiB"
        )
    print(f"{'ratio':>12}: {name_a}/{name_b} wall, median of {runs} pairs: {med(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    print(f"{'exit codes':>12}: {sorted(codes)}")


if __name__ == "__main__":
    main()
