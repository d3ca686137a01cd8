# file: lib/core/central.c
# tests: unit/check_tcache
# bug: span never empties: pages never go back
s|^\ts->nalloc--;|\t;|
