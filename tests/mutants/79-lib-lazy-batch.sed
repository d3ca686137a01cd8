# file: lib/core/pagerelease.c
# tests: unit/check_pageheap
# bug: the first stage claims the whole pool at once, so a burst allocating meanwhile faults fresh hugepages beside it
s|^#define RELEASE_LAZY_BATCH 1$|#define RELEASE_LAZY_BATCH MRI_PURGE_MAX|
