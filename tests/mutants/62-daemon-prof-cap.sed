# file: daemon/profile.c
# tests: system/sys_prof_hostile.sh
# bug: a profile over MR_PROTO_PROF_MAX is forwarded without end
s|if (c->prof_bytes > MR_PROTO_PROF_MAX) {|if (0) {|
