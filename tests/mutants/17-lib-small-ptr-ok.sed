# file: lib/api/alloc.c
# tests: programs/prog_badfree.sh
# bug: interior pointer accepted by free
s|return (uintptr_t)idx \* s->size == off;|return 1;|
