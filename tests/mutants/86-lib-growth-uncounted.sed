# file: lib/core/pageheap.c
# tests: unit/check_pageheap unit/check_scavenger
# bug: a block grown in place onto fresh pages while idle ones sit in the heap goes uncounted (its growth stays resident)
/^\t\theap_grew_locked(h, rel0 - h->nrel - (lazy0 - h->nlazy), &f);$/s|rel0 - h->nrel - (lazy0 - h->nlazy)|0|
