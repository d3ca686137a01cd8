# file: daemon/policy.c
# tests: unit/check_policy
# bug: headroom_min ignored
s|if (h < cfg->headroom_min_bytes)|if (0)|
