# file: daemon/profile.c
# tests: system/sys_prof_hostile.sh
# bug: a PROF_END that miscounts the bytes sent ends the dump as whole
s|m->u.prof_end.bytes != c->prof_bytes) {|0) {|
