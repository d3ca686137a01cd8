# file: daemon/cgroupfs.c
# tests: system/sys_client_v2fake.sh
# bug: discovery asks libcgroup (the host's real mounts) even for a fake proc root
s|if (strcmp(proc_root, "/proc") == 0 \&\& cgroup_init() == 0 \&\&|if (cgroup_init() == 0 \&\&|
