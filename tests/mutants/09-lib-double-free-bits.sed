# file: lib/core/central.c
# tests: unit/check_tcache
# bug: span does not detect a double free
s|if (!(s->allocbits\[idx >> 6\] & bit))|if (0)|
