#!/usr/bin/env bash
# Mutation testing with cargo-mutants over the modules whose mistakes the
# tests must catch: the patcher, diff, docs, header, the manifest crate and
# the output rules. Each surviving ("missed") mutant is a one-line change
# no test notices. Not a CI step: it builds and tests the crate once per
# mutant (an hour or more on two cores).
#
#   scripts/mutants.sh [cargo-mutants options…]     e.g. --list, --file src/diff.rs
#
# Mutants that cannot matter are excluded in scripts/mutants-exclude.txt,
# one regular expression a line with the reason after `#`.
# Results: target/mutants/mutants.out/{caught,missed,timeout,unviable}.txt
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
# cargo-mutants tests a copy of the tree elsewhere: real data by absolute path
if [ -d ../shared/data ]; then
    KFUNC_SCAN_SHARED_DATA="${KFUNC_SCAN_SHARED_DATA:-$(realpath ../shared/data)}"
    export KFUNC_SCAN_SHARED_DATA
fi
excludes=()
while IFS= read -r line; do
    re="${line%%  #*}"
    re="${re%"${re##*[![:space:]]}"}"
    [ -n "$re" ] && [ "${re:0:1}" != "#" ] && excludes+=(--exclude-re "$re")
done < scripts/mutants-exclude.txt
exec cargo mutants --no-shuffle --jobs 2 --output target/mutants \
    --file src/patch.rs --file src/diff.rs --file 'src/docs.rs' --file 'src/docs/*.rs' \
    --file src/header.rs --file 'crates/manifest/src/*.rs' --file src/output.rs \
    "${excludes[@]}" "$@"
