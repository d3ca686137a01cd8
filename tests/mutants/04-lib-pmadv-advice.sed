# file: lib/os/purge.c
# tests: unit/check_purge
# bug: process_madvise backend ignores the advice
s|(size_t)(n - k), b->advice, 0U);|(size_t)(n - k), MADV_DONTNEED, 0U);|
