# file: lib/os/options.c
# tests: unit/check_scavenger
# bug: MEMRECLAIM_* environment ignored
s|return e\[i\] == '=' ? e + i + 1 : NULL;|return NULL;|
