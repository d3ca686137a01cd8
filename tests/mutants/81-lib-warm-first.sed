# file: lib/core/pageheap.c
# tests: unit/check_pageheap
# bug: a small span takes the fullest hugepage's run even when it is released and warm pages sit idle elsewhere (new RSS while backed pages wait)
/\*start = mri_hp_find_warm(hp, n, align);/s|mri_hp_find_warm(|mri_hp_find(|
