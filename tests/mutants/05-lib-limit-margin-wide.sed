# file: lib/release/policy.c
# tests: unit/check_scavenger
# bug: hard limit lets 1/8 over instead of 1/16
s|p->hard_bytes = sat_add(lim, lim / 16);|p->hard_bytes = sat_add(lim, lim / 8);|
