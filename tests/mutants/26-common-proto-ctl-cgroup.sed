# file: common/protocol.c
# tests: unit/check_protocol
# bug: trim of a relative cgroup path accepted
s|if (r->cmd == MR_CTL_TRIM_CGROUP \&\& r->cgroup\[0\] != '/')|if (0)|
