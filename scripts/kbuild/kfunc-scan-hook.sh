# shellcheck shell=bash
# What pahole-wrapper and resolve-btfids-wrapper share: finding kfunc-scan,
# keeping a manifest made from the build's own .config, and patching a BTF
# with it. Sourced, not run; the caller sets `ks_me` (its name, for messages).
#
# Environment (all optional):
#   KFUNC_SCAN           the kfunc-scan binary (default: `kfunc-scan` from PATH)
#   KFUNC_SCAN_MANIFEST  the manifest to use, made when missing or older than
#                        .config (default: $objtree/kfunc-scan.json)
#   KFUNC_SCAN_SRCTREE   the tree to scan (default: $srctree, which Kbuild
#                        exports, absolute in O= builds)
#   KFUNC_SCAN_CACHE     the scan's per-file cache (`scan --cache`), so that
#                        a rescan reads only the files changed since the last
#                        (default: $objtree/.kfunc-scan-cache)
#   KFUNC_SCAN_WATCH=1   start a watcher (`kfunc-scan watch SRCTREE --cache
#                        CACHE`, in the background, left running) when none
#                        serves the cache: a rescan then reads and stats only
#                        what it saw change (docs/kernel-build.md); stop it
#                        with `kfunc-scan watch --stop --cache CACHE`
#   objtree, srctree, ARCH: exported by Kbuild; the hooks run in $objtree.
#   KBUILD_EXTMOD        exported by Kbuild in an out-of-tree module build
#                        (`make M=DIR`): the module's BTF is patched with a
#                        manifest of DIR scanned against the kernel tree
#                        (`scan DIR --kernel-tree $srctree`), kept in DIR
#                        (or in KBUILD_EXTMOD_OUTPUT, `make MO=`) as
#                        kfunc-scan.json; the kernel's own manifest is not
#                        made: its kfuncs are in vmlinux and its modules

# A failure of the hook fails the build: a kernel whose BTF silently lacks
# the pairs boots and then refuses programs, far from the cause.
ks_die() {
	echo "$ks_me: error: $*" >&2
	exit 1
}

ks_bin() {
	local bin=${KFUNC_SCAN:-kfunc-scan}
	command -v "$bin" >/dev/null 2>&1 ||
		ks_die "kfunc-scan not found (\`$bin\`): put it on PATH or set KFUNC_SCAN=/path/to/kfunc-scan"
	printf '%s\n' "$bin"
}

# A watcher for the scans of $2 through the cache $3, started in the
# background, detached from make's job control. One that runs already
# holds the lock in the cache directory: the new one exits at once (said in
# watch.log); a socket left by a killed one does not stop a new one. A scan
# before the watch is in place stats the tree, as without one.
ks_watch() {
	mkdir -p "$3" || ks_die "cannot make the cache directory $3"
	setsid "$1" watch -q "$2" --cache "$3" </dev/null >>"$3/watch.log" 2>&1 &
}

# The manifest for this build's .config, scanned when missing, older than
# .config, or when $3 is 1 (a vmlinux link: the sources may have changed
# since the last build; with the cache, a rescan of an unchanged tree reads
# only what changed). Parallel module links share it: one scans under a
# lock, the others wait and reuse its result. Prints the manifest's path.
ks_manifest() {
	local bin=$1 config=$2 fresh=${3:-0}
	local manifest=${KFUNC_SCAN_MANIFEST:-${objtree:-.}/kfunc-scan.json}
	local cache=${KFUNC_SCAN_CACHE:-${objtree:-.}/.kfunc-scan-cache}
	local src=${KFUNC_SCAN_SRCTREE:-${srctree:-}}
	[ -n "$src" ] || ks_die "no source tree: run from make (it exports srctree) or set KFUNC_SCAN_SRCTREE"
	local lock=()
	command -v flock >/dev/null 2>&1 && lock=(flock "$manifest.lock")
	if [ "${KFUNC_SCAN_WATCH:-0}" = 1 ]; then ks_watch "$bin" "$src" "$cache"; fi
	# exit 1 is a source with diagnostics (a broken set, say): the
	# manifest is written in full; 2 is a scan that could not run
	"${lock[@]}" sh -c '
		if [ "$7" = 1 ] || [ ! -f "$3" ] || [ "$2" -nt "$3" ]; then
			"$1" "$4" --config "$2" --arch "$5" --cache "$6" -q -o "$3"
			[ $? -le 1 ] || exit 2
		fi' sh "$bin" "$config" "$manifest" "$src" "${ARCH:-x86_64}" "$cache" "$fresh" ||
		ks_die "could not scan $src into $manifest (see above)"
	printf '%s\n' "$manifest"
}

# The manifest of an out-of-tree module's directory ($1: the binary), its
# facts read in the kernel tree it is built against; rescanned at every
# module link (an M= build links few, and the cache keeps it cheap). No
# build view: Kbuild of an M= directory is not followed, so patch-btf
# tags the manifest's kfuncs this module's BTF has. Prints its path.
ks_extmod_manifest() {
	local bin=$1
	local ext=$KBUILD_EXTMOD
	local out=${KBUILD_EXTMOD_OUTPUT:-$ext}
	local src=${KFUNC_SCAN_SRCTREE:-${srctree:-}}
	[ -n "$src" ] || ks_die "no source tree: run from make (it exports srctree) or set KFUNC_SCAN_SRCTREE"
	[ -d "$ext" ] || ks_die "$ext: the out-of-tree module's directory (KBUILD_EXTMOD) is not a directory here"
	local manifest=$out/kfunc-scan.json
	local lock=()
	command -v flock >/dev/null 2>&1 && lock=(flock "$manifest.lock")
	"${lock[@]}" sh -c '
		"$1" "$2" --kernel-tree "$3" --cache "$4" -q -o "$5"
		[ $? -le 1 ] || exit 2' sh "$bin" "$ext" "$src" "$out/.kfunc-scan-cache" "$manifest" ||
		ks_die "could not scan $ext (against $src) into $manifest (see above)"
	printf '%s\n' "$manifest"
}

# More patch-btf options, set by the caller (the 7.x wrapper: --no-pairs).
ks_patch_args=()

# ks_patch FILE [BASE]: FILE's BTF (raw, or an ELF object's .BTF) patched
# in place with decl tags, checked against this build's .config; BASE, the
# vmlinux a module's split BTF builds on.
ks_patch() {
	local file=$1 base=${2:-}
	local config=${objtree:-.}/.config
	[ -f "$config" ] || ks_die "$config: no .config here (run from the kernel's make, in its objtree)"
	local bin manifest
	bin=$(ks_bin) || exit 1
	# Kbuild's own verbosity (it exports `quiet`): a line per vmlinux, none
	# per module (a distribution config links thousands, most without
	# kfuncs), none with make -s, all of them with V=1; warnings always
	local q=()
	case ${quiet-quiet_} in
	silent_) q=(-q) ;;
	quiet_) [ -z "$base" ] || q=(-q) ;;
	esac
	local args=(patch-btf "${q[@]}" "${ks_patch_args[@]}" --btf "$file" --in-place --add-decl-tags)
	if [ -n "$base" ] && [ -n "${KBUILD_EXTMOD:-}" ]; then
		# an out-of-tree module: its own manifest, which has no build view
		manifest=$(ks_extmod_manifest "$bin") || exit 1
	else
		# a vmlinux (no base) is linked once a build: the sources are rescanned
		local fresh=1
		[ -n "$base" ] && fresh=0
		manifest=$(ks_manifest "$bin" "$config" "$fresh") || exit 1
		args+=(--config "$config")
	fi
	args+=(--manifest "$manifest")
	[ -n "$base" ] && args+=(--base "$base")
	"$bin" "${args[@]}" || ks_die "kfunc-scan patch-btf failed on $file (see above)"
}

# Whether $1 names the same file as this script's caller ($0): a REAL_*
# variable pointing back at the wrapper would recurse forever.
ks_is_self() {
	local p
	p=$(command -v "$1" 2>/dev/null) || return 1
	[ "$(readlink -f "$p")" = "$(readlink -f "$0")" ]
}
