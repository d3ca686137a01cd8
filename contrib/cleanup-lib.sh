# shellcheck shell=bash
# cleanup-lib.sh: stopping what a demo or test started, sourced by
# contrib/demo.sh and tests/system/sys_client_e2e.sh (bash).

# stop_pids PID...: SIGTERM, a moment to exit cleanly, then SIGKILL; reaps
# them.  Empty arguments are skipped.
stop_pids() {
	local p
	for p in "$@"; do
		[ -n "$p" ] && kill -TERM "$p" 2>/dev/null
	done
	sleep 0.3
	for p in "$@"; do
		[ -n "$p" ] && kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
}

# remove_cgroups DIR...: kill whatever is still inside each cgroup and
# remove it, retrying for up to 5 s (a killed process leaves the cgroup
# only once it is reaped).  Says so on stderr when one stays.
remove_cgroups() {
	local d
	for d in "$@"; do
		[ -d "$d" ] || continue
		for _ in $(seq 50); do
			rmdir "$d" 2>/dev/null && break
			xargs -r kill -KILL < "$d/cgroup.procs" 2>/dev/null
			sleep 0.1
		done
		[ -d "$d" ] && echo "could not remove cgroup $d" >&2
	done
	return 0
}
