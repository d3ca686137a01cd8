# file: lib/api/alloc.c
# tests: unit/check_api
# bug: aligned allocation from a class that is not aligned
s|if ((mri_class_size\[cls\] \& (align - 1)) == 0)|if (1)|
