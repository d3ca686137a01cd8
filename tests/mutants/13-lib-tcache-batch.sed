# file: lib/core/tcache.c
# tests: unit/check_tcache
# bug: refill takes two batches: overruns the bin
s|^\t\t\t\tmri_class_batch\[cls\]);|\t\t\t\t2u * mri_class_batch[cls]);|
