#!/usr/bin/env bash
# Times `docs` in each format (Markdown pages, the ebpf-docs YAML, the HTML
# site) for the 6.12 manifest, against Python merely loading the same
# manifest (`json.load`), in the same run. Target (issue 12): each format
# under 1 s of wall time; the ratio says what the pages cost beyond reading
# the JSON once.
#
#   scripts/bench-docs.sh [TREE] [RUNS]     TREE defaults to the 6.12 tree
#                                           scripts/fetch-linux.sh provides
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tree="${1:-$("$here/fetch-linux.sh" 6.12)}"
runs="${2:-7}"
[ -x /usr/bin/time ] || { echo "bench-docs: /usr/bin/time (Debian package time) is needed" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$here/../Cargo.toml"
bin="$here/../target/release/kfunc-scan"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" -q "$tree" -o "$work/m.json" || [ $? -eq 1 ]
load="python3 -c 'import json,sys; json.load(open(sys.argv[1]))' '$work/m.json'"
echo "manifest of $tree ($(nproc) cores)"
for format in markdown ebpf-docs html; do
    case $format in ebpf-docs) out="$work/kfuncs.yaml" ;; *) out="$work/$format" ;; esac
    echo "== docs --format $format"
    python3 "$here/bench-pair.py" "$runs" \
        "docs-$format" "$bin docs --manifest '$work/m.json' --format $format -o '$out'" \
        python-json-load "$load"
done
