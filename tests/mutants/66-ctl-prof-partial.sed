# file: ctl/ctl.c
# tests: system/sys_prof_hostile.sh
# bug: memreclaimctl writes a profile cut short by an error
s|if (m.u.ctl_done.status == 0 && prof.len &&|if (prof.len \&\&|
