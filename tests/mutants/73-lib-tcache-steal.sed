# file: lib/core/tcache.c
# tests: unit/check_tcache
# bug: a bin over the budget never takes capacity from bins that grew: earlier sizes keep theirs for ever
s|if (v == cls \|\| b->cap < 3u \* g)|if (1)|
