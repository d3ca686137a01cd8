# file: lib/core/pageheap.c
# tests: unit/check_pageheap
# bug: the large-span cache keeps its 8 MiB whatever the heap's size (a small heap's freed blocks stay claimed, neither reused nor released)
/^\tuint64_t used = h->mapped - h->nfree - h->lcache_pages, b = used \/ 8;$/s|b = used / 8|b = MRI_LCACHE_PAGES|
