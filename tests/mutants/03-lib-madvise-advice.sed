# file: lib/os/purge.c
# tests: unit/check_purge
# bug: madvise backend ignores the advice asked for
/mri_os->advise(b->r\[i\].addr/{n;s|b->advice);|MADV_DONTNEED);|}
