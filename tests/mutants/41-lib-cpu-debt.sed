# file: lib/release/policy.c
# tests: unit/check_relpolicy
# bug: the scavenger forgets an overspent cycle's debt (each wake by a free gets fresh credit)
s|st->debt_ns = sat_add(st->debt_ns, debt);|st->debt_ns = 0;|
