# file: lib/core/central.c
# tests: unit/check_tcache
# bug: a collection that finds a remote free in flight drops the span from the pending stack: its late objects are never collected
s|^\t\tif (__atomic_sub_fetch(&s->rcount, k, __ATOMIC_ACQ_REL)) {|\t\tif (__atomic_sub_fetch(\&s->rcount, k, __ATOMIC_ACQ_REL) \&\& 0) {|
