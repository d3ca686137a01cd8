# file: lib/release/policy.c
# tests: programs/prog_release.sh unit/check_relpolicy
# bug: lazily freed pages bring the next cycle forward even out of CPU credit (their second stage is budgeted: the cycle does nothing)
s|^\tif (!o->lazy_first \|\| o->advice_free \|\| st->credit_ns == 0)$|\tif (!o->lazy_first \|\| o->advice_free)|
