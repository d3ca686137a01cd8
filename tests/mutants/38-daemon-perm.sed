# file: daemon/transport.c
# tests: system/sys_daemon_hostile.sh system/sys_daemon_limits.sh
# bug: control requests from any user accepted
s|c->ctl_ok = c->uid == 0 \|\| c->uid == geteuid() \|\||c->ctl_ok = 1 \|\| c->uid == 0 \|\| c->uid == geteuid() \|\||
