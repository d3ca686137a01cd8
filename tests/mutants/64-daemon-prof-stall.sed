# file: daemon/profile.c
# tests: system/sys_prof_hostile.sh
# bug: a dump that makes no progress never ends
s|now - c->prof_last_ns > MRD_PROF_STALL_MS \* 1000000ull) {|0) {|
