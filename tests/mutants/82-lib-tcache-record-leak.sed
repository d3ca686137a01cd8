# file: lib/core/tcache.c
# tests: programs/prog_threads.sh
# bug: a thread's cache record is not put back at thread exit (each thread leaks a few hundred KiB of metadata)
/^\tmri_pool_put(&tc_pool, tc);$/s|mri_pool_put(&tc_pool, tc);|(void)tc_pool;|
