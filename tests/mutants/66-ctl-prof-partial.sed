# file: ctl/ctl.c
# tests: system/sys_prof_hostile.sh
# bug: memreclaimctl writes a profile cut short by an error
s|if (rep.done.status == 0 && rep.prof.len &&|if (rep.prof.len \&\&|
