# file: daemon/policy.c
# tests: unit/check_policy
# bug: least idle client trimmed first
s|return policy_avail(a) > policy_avail(b);|return policy_avail(a) < policy_avail(b);|
