# file: lib/core/pageheap.c
# tests: unit/check_pageheap
# bug: a span with hugepages moved in still claims to be zeroed (calloc skips the memset and returns old data)
/^\t\t\tif (mv->n)$/{n;s|^\(\t*\)\*zero = 0;$|\1;|}
