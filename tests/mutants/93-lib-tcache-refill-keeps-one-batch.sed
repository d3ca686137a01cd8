# file: lib/core/tcache.c
# tests: unit/check_tcache
# bug: a bin the thread allocates from stays at one batch (alternating malloc and free would hit the central list every batch)
/^\t\ttc->bins\[cls\].cap = 2u \* mri_class_batch\[cls\];$/s|2u \* mri_class_batch|mri_class_batch|
