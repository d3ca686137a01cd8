# file: lib/core/pageheap.c
# tests: unit/check_pageheap
# bug: a freed large span's hugepages are not advised MADV_HUGEPAGE again (small spans placed there later stay on small pages)
/if (large && n >= MRI_HP_PAGES)/s|if (large && n >= MRI_HP_PAGES)|if (0)|
