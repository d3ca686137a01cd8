# file: lib/core/pageheap.c
# tests: unit/check_pageheap
# bug: growth beside idle pages is counted but never wakes the release path (it waits for the next tick)
/^\t\thk->grew();$/s|hk->grew();|(void)hk;|
