# file: lib/api/alloc.c
# tests: programs/prog_badfree.sh
# bug: thread cache misses the immediate double free
s|if (unlikely(slots\[n - 1\] == p))|if (0)|
