# file: daemon/watch.c
# tests: system/sys_client_pressure.sh
# bug: the cgroup's own PSI never reaches the policy (no pressure-driven trim)
s|in.psi_valid = cg->s.has_psi;|in.psi_valid = 0;|
