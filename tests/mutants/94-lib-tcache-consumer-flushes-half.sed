# file: lib/core/tcache.c
# tests: unit/check_tcache
# bug: a consumer's one-batch bin flushes half of it (twice the trips to the central list of a two-batch bin)
/^\tmri_tcache_flush(tc, cls, tc->used\[cls\] ? b->cap \/ 2 : 1);$/s|: 1)|: b->cap / 2)|
