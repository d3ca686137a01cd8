# file: daemon/policy.c
# tests: unit/check_policy
# bug: headroom not capped at half the limit
s|if (h > limit / 2)|if (h > limit)|
