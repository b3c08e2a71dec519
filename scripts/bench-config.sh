#!/usr/bin/env bash
# Times the scan with a build view (`--config`) against the plain scan of the
# same tree, warm cache, in the same run. Target (issue 10): --config adds at
# most 10% (a ratio of at most 1.10).
#
#   scripts/bench-config.sh [TREE] [CONFIG] [RUNS]   TREE defaults to the 6.12
#       tree scripts/fetch-linux.sh provides, CONFIG to Debian's 6.12 config
#       in ../shared/data
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tree="${1:-$("$here/fetch-linux.sh" 6.12)}"
config="${2:-${KFUNC_SCAN_SHARED_DATA:-$here/../../shared/data}/linux-6.12.117/config}"
runs="${3:-7}"
[ -x /usr/bin/time ] || { echo "bench-config: /usr/bin/time (Debian package time) is needed" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$here/../Cargo.toml"
bin="$here/../target/release/kfunc-scan"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "tree: $tree, config: $config ($(nproc) cores)"
python3 "$here/bench-pair.py" "$runs" \
    with-config "$bin -q '$tree' --config '$config' -o '$out'" \
    plain "$bin -q '$tree' -o '$out'"
