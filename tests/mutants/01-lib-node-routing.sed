# file: lib/core/tcache.c
# tests: unit/check_numa
# bug: objects freed on another node go to the freeing thread's node
s|int node = mri_pagemap_lookup(objs\[i\])->node;|int node = mri_current_node();|
