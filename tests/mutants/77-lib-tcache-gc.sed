# file: lib/core/tcache.c
# tests: unit/check_tcache
# bug: the thread cache GC gives nothing back: a bin the thread stopped using keeps its objects (and their spans) until the thread exits
s|		if (low != 0) {|		if (0) {|
