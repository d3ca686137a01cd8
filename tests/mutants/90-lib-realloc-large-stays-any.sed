# file: lib/api/alloc.c
# tests: unit/check_api
# bug: a large block asked for a class size stays whatever the size, even past its own pages (the next block is overwritten)
/^\t} else if (size <= (size_t)s->npages \* MRI_PAGE_SIZE &&$/s|size <= (size_t)s->npages \* MRI_PAGE_SIZE|1|
