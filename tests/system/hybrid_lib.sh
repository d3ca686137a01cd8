# shellcheck shell=bash
# hybrid_lib.sh: shared by the system tests that put a preloaded program in
# a child cgroup of this hybrid host (the v1 memory controller holds the
# limit, the v2 cgroup of the same name gives PSI).  Sourced after the
# caller sets B (the build tree) and defines log() and diagnose();
# provides MEMROOT, UNIROOT, skip(), fail() and require_hybrid FILE...,
# which exits 77 (with the reason) unless the test can run here: root,
# a writable v1 memory controller, v2 PSI files, a build whose preload
# library is usable (not a sanitizer build), and every FILE present.

MEMROOT=/sys/fs/cgroup/memory
UNIROOT=/sys/fs/cgroup/unified

skip() { echo "SKIP: $*"; exit 77; }
fail() {
	echo "FAIL: $*"
	declare -F diagnose >/dev/null && diagnose
	exit 1
}

require_hybrid() {
	local f
	[ "$(id -u)" = 0 ] || skip "needs root to create cgroups"
	[ -w $MEMROOT/cgroup.procs ] ||
		skip "no writable v1 memory controller at $MEMROOT"
	[ -r $UNIROOT/memory.pressure ] ||
		skip "no PSI at $UNIROOT/memory.pressure"
	grep -q '^#define MR_SANITIZED' "$B/config.h" 2>/dev/null &&
		skip "sanitizer build: the preload library is not usable"
	for f in "$@"; do
		[ -e "$f" ] || fail "$f not built"
	done
}
