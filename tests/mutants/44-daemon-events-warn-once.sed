# file: daemon/watch.c
# tests: system/sys_daemon_hostpsi.sh
# bug: a cgroup whose events cannot be armed is warned about every round
s|	cg->event_warned = 1;|	cg->event_warned = 0;|
