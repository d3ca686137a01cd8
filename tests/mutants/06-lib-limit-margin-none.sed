# file: lib/release/policy.c
# tests: unit/check_scavenger
# bug: hard limit without its 1/16 margin
s|p->hard_bytes = sat_add(lim, lim / 16);|p->hard_bytes = lim;|
