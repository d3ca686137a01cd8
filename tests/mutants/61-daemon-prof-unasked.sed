# file: daemon/profile.c
# tests: system/sys_prof_hostile.sh
# bug: profile frames nobody asked for are accepted
s|	if (c->prof_fd < 0) {|	if (0) {|
