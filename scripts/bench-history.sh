#!/usr/bin/env bash
# Times `kfunc-scan history --git REPO v6.1 v6.12 --no-cache` against two
# plain scans of the checked-out trees, in the same run (issue 12). Target:
# the history at most 1.5 x the two scans' wall time (medians). First
# checks that the manifests history makes of each tag equal plain scans of
# the trees, byte for byte.
#
# REPO is made once from the two Debian trees scripts/fetch-linux.sh
# provides (the 6.1 tree committed and tagged v6.1, then the 6.12 tree
# tagged v6.12; every file added, ignored or not; then packed as a clone's
# objects are) and kept in the cache beside them.
#
#   scripts/bench-history.sh [RUNS]
#   KFUNC_SCAN_CACHE=/some/dir overrides the cache (default: ~/.cache/kfunc-scan)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root="$here/.."
runs="${1:-5}"
[ -x /usr/bin/time ] || { echo "bench-history: /usr/bin/time (Debian package time) is needed" >&2; exit 2; }
command -v git >/dev/null || { echo "bench-history: git is needed" >&2; exit 2; }
old=$("$here/fetch-linux.sh" 6.1)
new=$("$here/fetch-linux.sh" 6.12)
cache="${KFUNC_SCAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kfunc-scan}"
repo="$cache/history-bench.git"

# All objects in one pack, as a clone has them. A first `git repack -a -d`
# has been seen to leave the first tag's objects in a pack of their own
# beside the full one (git 2.47); a second one merges them.
one_pack() { # REPO
    local n
    for _ in 1 2 3; do
        n=$(find "$1/objects/pack" -name '*.pack' | wc -l)
        [ "$n" -eq 1 ] && return 0
        GIT_DIR="$1" git repack -a -d -q
    done
    echo "bench-history: $1 holds $n packs, not one" >&2
    exit 1
}

if [ -f "$repo/kfunc-scan-complete" ]; then
    one_pack "$repo"
else
    echo "bench-history: making $repo (once)" >&2
    work=$(mktemp -d "$cache/.history-bench.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    git init -q --bare "$work/repo.git"
    commit() { # TREE TAG
        GIT_DIR="$work/repo.git" GIT_WORK_TREE="$1" git add -A -f .
        GIT_DIR="$work/repo.git" GIT_WORK_TREE="$1" \
            git -c gc.auto=0 -c user.name=bench -c user.email=bench@localhost commit -q -m "$2"
        GIT_DIR="$work/repo.git" git tag "$2"
    }
    (cd "$old" && commit "$old" v6.1)
    (cd "$new" && commit "$new" v6.12)
    GIT_DIR="$work/repo.git" git repack -a -d -q
    GIT_DIR="$work/repo.git" git prune
    one_pack "$work/repo.git"
    touch "$work/repo.git/kfunc-scan-complete"
    rm -rf "$repo"
    mv "$work/repo.git" "$repo"
    rm -rf "$work"
    trap - EXIT
fi

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
bin="${CARGO_TARGET_DIR:-$root/target}/release/kfunc-scan"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "repo: $repo ($(nproc) cores)"
# the manifests history keeps for each tree are the plain scans' manifests
"$bin" history -q --git "$repo" v6.1 v6.12 --cache-dir "$out/cache" -o "$out/history.json"
for pair in "v6.1 $old" "v6.12 $new"; do
    set -- $pair
    tree_id=$(GIT_DIR="$repo" git rev-parse "$1^{tree}")
    "$bin" -q "$2" -o "$out/plain.json"
    if cmp -s "$out"/cache/"$tree_id"-*.json "$out/plain.json"; then
        echo "$1: the manifest read from git equals the plain scan's"
    else
        echo "bench-history: $1: the manifest read from git differs from the plain scan's" >&2
        exit 1
    fi
done

python3 "$here/bench-pair.py" "$runs" \
    history "$bin history -q --git $repo v6.1 v6.12 --no-cache -o $out/h.json" \
    "2 scans" "bash -c '$bin -q $old -o $out/a.json && $bin -q $new -o $out/b.json'"
