# file: lib/api/alloc.c
# tests: unit/check_api
# bug: realloc grows a small object in place past its class
s|if (size <= s->size \&\& (size > s->size / 2 \|\| s->cls == 1))|if (size > s->size / 2 \|\| s->cls == 1)|
