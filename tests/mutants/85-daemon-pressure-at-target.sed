# file: daemon/policy.c
# tests: unit/check_policy
# bug: a stall equal to pressure_target already sheds memory (the target is a bound to pass)
/^\tif (p > cfg->pressure_target) {$/s|p > cfg|p >= cfg|
