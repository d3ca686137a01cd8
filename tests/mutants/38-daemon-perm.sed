# file: daemon/dispatch.c
# tests: system/sys_daemon_hostile.sh
# bug: control requests from any user accepted
s|return c->uid == 0 \|\| c->uid == geteuid() \|\| c->gid == d->sock_gid;|return 1;|
