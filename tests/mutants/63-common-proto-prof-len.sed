# file: common/protocol.c
# tests: unit/check_prof system/sys_prof_hostile.sh
# bug: PROF_DATA's len is not checked against the chunk size
s|if (pd->len == 0 \|\| pd->len > MR_PROTO_PROF_CHUNK \|\||if (|
