# file: lib/api/alloc.c
# tests: unit/check_api
# bug: calloc skips zeroing reused large blocks
s|if (s->zeroed)|if (1)|
