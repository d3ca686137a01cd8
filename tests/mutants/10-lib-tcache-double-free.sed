# file: lib/api/alloc.c
# tests: programs/prog_badfree.sh
# bug: thread cache misses the immediate double free
s|if (unlikely(b->n \&\& b->slots\[b->n - 1\] == p))|if (0)|
