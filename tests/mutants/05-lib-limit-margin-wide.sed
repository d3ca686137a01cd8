# file: lib/release/limit.c
# tests: unit/check_scavenger
# bug: hard limit lets 1/8 over instead of 1/16
s|retained + n > lim + lim / 16|retained + n > lim + lim / 8|
