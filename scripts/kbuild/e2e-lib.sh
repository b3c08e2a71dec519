# shellcheck shell=bash
# What scripts/kernel-e2e.sh (Linux 6.x) and scripts/kernel-e2e-7.sh (7.x)
# share: finding kfunc-scan and the tools, timing steps, and configuring a
# tiny kernel from tinyconfig and the project's fragment. Sourced, not run;
# the caller sets `e2e_me` (its name, for messages), `here` (scripts/) and
# `repo`.

e2e_die() { # status, then the message
	local rc=$1
	shift
	echo "$e2e_me: $*" >&2
	exit "$rc"
}

# KFUNC_SCAN: the binary given, else this checkout's release or debug
# build; exported absolute, as the hooks run in the build's objtree.
e2e_find_kfunc_scan() {
	if [ -z "${KFUNC_SCAN:-}" ]; then
		local b
		for b in "$repo/target/release/kfunc-scan" "$repo/target/debug/kfunc-scan"; do
			[ -x "$b" ] && KFUNC_SCAN=$b && break
		done
	fi
	[ -n "${KFUNC_SCAN:-}" ] || e2e_die 2 "no kfunc-scan binary: cargo build, or set KFUNC_SCAN"
	KFUNC_SCAN=$(readlink -f "$(command -v "$KFUNC_SCAN")")
	export KFUNC_SCAN
}

# Each tool named must be on PATH.
e2e_need() {
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null ||
			e2e_die 2 "$tool missing (apt-get install flex bison bc libelf-dev libssl-dev dwarves bpftool python3)"
	done
}

# step NAME COMMAND…: the command, its time printed.
step() {
	local name=$1
	shift
	local t0=$SECONDS
	echo "== $name" >&2
	"$@"
	echo "== $name: $((SECONDS - t0)) s" >&2
}

# e2e_configure OUT FRAGMENT [always]: tinyconfig and FRAGMENT merged into
# OUT/.config when it has none (`mk`, the caller's make, does the make
# steps); olddefconfig then (always, with a third argument: 7.x's
# CONFIG_PAHOLE_VERSION follows PAHOLE). Every symbol FRAGMENT sets must
# survive olddefconfig: a dependency left out drops it silently.
e2e_configure() {
	local out=$1 fragment=$2 always=${3:-}
	if [ ! -f "$out/.config" ]; then
		step tinyconfig mk tinyconfig
		step fragment "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$fragment"
		always=1
	fi
	[ -z "$always" ] || step olddefconfig mk olddefconfig
	local lost=0 line
	while IFS= read -r line; do
		case $line in CONFIG_*=*) ;; *) continue ;; esac
		grep -qx -- "$line" "$out/.config" || {
			echo "$e2e_me: $line did not survive olddefconfig" >&2
			lost=1
		}
	done <"$fragment"
	[ $lost -eq 0 ] || exit 1
}
