# file: lib/core/pageheap.c
# tests: unit/check_pageheap
# bug: a large span under a hugepage never takes a warm run across hugepages (it faults in fresh pages while the holes sit idle)
/^\t\tif (!hp && npages >= HEAP_SPAN_RUN_MIN && ap == 1 &&$/s|npages >= HEAP_SPAN_RUN_MIN|0|
