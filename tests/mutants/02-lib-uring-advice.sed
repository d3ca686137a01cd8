# file: lib/os/purge.c
# tests: unit/check_purge
# bug: io_uring sends MADV_DONTNEED when asked for MADV_FREE
s|(off_t)len, b->advice);|(off_t)len, MADV_DONTNEED);|
