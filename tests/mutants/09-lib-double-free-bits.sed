# file: lib/core/central.c
# tests: programs/prog_badfree.sh
# bug: span does not detect a double free
s|if (!(s->allocbits\[idx >> 6\] & bit))|if (0)|
