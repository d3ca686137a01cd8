# file: lib/release/limit.c
# tests: unit/check_scavenger
# bug: hard limit without its 1/16 margin
s|retained + n > lim + lim / 16|retained + n > lim|
