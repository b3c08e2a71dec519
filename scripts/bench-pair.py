#!/usr/bin/env python3
"""Times two commands in alternation (A B A B ...), after a warm-up of each,
and prints each one's median wall time and peak RSS, and the median of the
pair-by-pair ratios A/B. Shared by the project's benchmark scripts.

    bench-pair.py RUNS 'NAME_A' 'CMD_A' 'NAME_B' 'CMD_B'

Each command is split as a shell splits words (leading NAME=VALUE words set
its environment) and started directly, with no shell or timing program in
between: a few milliseconds of such overhead on both sides would bias the
ratio of two fast commands towards 1. Wall time runs from the fork to the
reaping. Peak RSS comes from three more runs of each under /usr/bin/time
(Debian package `time`), whose small process forks the command: a child
forked from this Python process would be charged Python's own peak. Output
is discarded.
"""
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time


def split(cmd):
    words = shlex.split(cmd)
    env = dict(os.environ)
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    return words, env


def once(cmd):
    """Wall seconds and exit code of one run."""
    words, env = split(cmd)
    start = time.perf_counter()
    r = subprocess.run(words, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, r.returncode


def peak_rss_kib(cmd):
    """Median peak RSS of three runs, as /usr/bin/time reports it."""
    words, env = split(cmd)
    peaks = []
    for _ in range(3):
        with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
            subprocess.run(
                ["/usr/bin/time", "-f", "%M", "-o", t.name, *words],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            t.seek(0)
            lines = [l for l in t.read().split() if l.isdigit()]
            peaks.append(int(lines[-1]) if lines else 0)
    return statistics.median(peaks)


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
        codes.update({(name_a, ra[1]), (name_b, rb[1])})
        ratios.append(ra[0] / rb[0] if rb[0] > 0 else float("inf"))
    med = statistics.median
    for name, cmd, xs in ((name_a, cmd_a, a), (name_b, cmd_b, b)):
        walls = [x[0] for x in xs]
        print(
            f"{name:>12}: wall median {med(walls):.4f} s (min {min(walls):.4f}, max {max(walls):.4f}), "
            f"peak RSS median {peak_rss_kib(cmd) / 1024:.1f} MiB"
        )
    print(f"{'ratio':>12}: {name_a}/{name_b} wall, median of {runs} pairs: {med(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
    print(f"{'exit codes':>12}: {sorted(codes)}")


if __name__ == "__main__":
    main()
