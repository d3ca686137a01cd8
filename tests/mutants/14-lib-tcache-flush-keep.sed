# file: lib/core/tcache.c
# tests: unit/check_tcache
# bug: overflow flushes nothing
s|mri_tcache_flush(tc, cls, tc->used\[cls\] ? b->cap / 2 : 1);|mri_tcache_flush(tc, cls, b->cap);|
