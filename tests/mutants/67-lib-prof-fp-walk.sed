# file: lib/prof/stack.c
# tests: system/sys_prof_stack.sh
# bug: the frame-pointer walk stops at the call site
s|		fp = (const uintptr_t \*)next;|		break;|
