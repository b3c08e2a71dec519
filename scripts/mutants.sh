#!/usr/bin/env bash
# Mutation testing with cargo-mutants over the modules whose mistakes the
# tests must catch: the patcher, diff, docs, header, the manifest crate and
# the output rules. Each surviving ("missed") mutant is a one-line change
# no test notices. Not a CI step: it builds and tests the crate once per
# mutant (an hour or more on two cores).
#
#   scripts/mutants.sh [cargo-mutants options…]     e.g. --list, --file src/diff.rs
#
# With --file/-f only those files are mutated (one module at a time, its
# counts apart); without, every file below. MUTANTS_JOBS (default 2) is
# --jobs, MUTANTS_OUTPUT (default target/mutants) --output. To build and
# test only the targets that exercise a file, give them as cargo arguments
# (arguments after `--` reach `cargo test` but not the build of every test
# target before it): `--cargo-arg=--lib --cargo-arg=--test=it`.
# A mutant in the manifest crate runs that crate's tests; add
# `--test-package kfunc-scan-manifest,kfunc-scan` for the consumers' too.
#
# Mutants that cannot matter are excluded in scripts/mutants-exclude.txt,
# one regular expression a line with the reason after `#`.
# Results: $MUTANTS_OUTPUT/mutants.out/{caught,missed,timeout,unviable}.txt
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
files=(--file 'src/patch/*.rs' --file src/diff.rs --file 'src/docs/*.rs'
    --file 'src/header/*.rs' --file 'crates/manifest/src/*.rs' --file src/output.rs)
for a in "$@"; do
    [ "$a" = -- ] && break
    case "$a" in -f | --file | --file=* | -f*) files=() ;; esac
done
# --workspace: without it cargo-mutants mutates the root package alone and
# the manifest crate's files are silently left out.
exec cargo mutants --workspace --no-shuffle --jobs "${MUTANTS_JOBS:-2}" --output "${MUTANTS_OUTPUT:-target/mutants}" \
    "${files[@]}" "${excludes[@]}" "$@"
