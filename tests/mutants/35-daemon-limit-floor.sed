# file: daemon/policy.c
# tests: unit/check_policy
# bug: soft limit floor without margin
s|uint64_t m = in_use / 8;|uint64_t m = 0;|
