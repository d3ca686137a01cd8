# file: lib/os/purge.c
# tests: unit/check_purge
# bug: EPERM (seccomp) not seen as the backend's fault: no fallback
s|return err == -EPERM \|\| err == -ENOSYS \|\| err == -EINVAL;|return err == -ENOSYS \|\| err == -EINVAL;|
