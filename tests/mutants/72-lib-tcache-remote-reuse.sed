# file: lib/core/tcache.c
# tests: unit/check_tcache
# bug: a fresh thread's first malloc hands back the object it just freed for another thread (passive false sharing)
s|	if (b->n != 0 \|\| __atomic_load_n(&mri_pagemap_lookup(p)->owner,|	if (1 \|\| __atomic_load_n(\&mri_pagemap_lookup(p)->owner,|
