# file: daemon/profile.c
# tests: system/sys_prof_hostile.sh
# bug: any user may ask for any process's profile
s|return t != NULL && t->uid == c->uid;|return t != NULL;|
