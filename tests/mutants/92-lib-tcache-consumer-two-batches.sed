# file: lib/core/tcache.c
# tests: unit/check_tcache
# bug: a bin the thread only frees into starts at two batches (a consumer parks twice what it needs)
/^\t\ttc->bins\[cls\].cap = mri_class_batch\[cls\];$/s|= mri_class_batch|= 2u * mri_class_batch|
