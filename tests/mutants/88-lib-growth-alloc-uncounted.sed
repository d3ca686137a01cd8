# file: lib/core/pageheap.c
# tests: unit/check_pageheap unit/check_scavenger
# bug: a new span faulting fresh pages while idle ones sit in the heap goes uncounted
/^\tif (c && npages < MRI_HP_PAGES)$/s|npages < MRI_HP_PAGES|npages < 1|
