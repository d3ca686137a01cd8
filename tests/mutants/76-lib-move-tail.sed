# file: lib/core/pageheap.c
# tests: unit/check_pageheap
# bug: idle hugepages are moved under the last hugepage of a large span too, whose free tail the filler hands out meanwhile
s|^\(\s*\)(i + 1) \* MRI_HP_PAGES <= npages \&\&$|\11 \&\&|
