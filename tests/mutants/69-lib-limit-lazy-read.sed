# file: lib/release/limit.c
# tests: unit/check_cgroup_limit
# bug: a heap that reaches the probe never reads its cgroup's limit
/The probe was reached/{n;s|mri_limit_read_cgroup();|(void)0;|}
