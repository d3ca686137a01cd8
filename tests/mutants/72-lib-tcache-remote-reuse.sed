# file: lib/core/tcache.c
# tests: unit/check_tcache
# bug: a fresh thread's first malloc hands back the object it just freed for another thread (passive false sharing)
s|^\tif (b->n != 0 \|\||\tif (1 \|\||
