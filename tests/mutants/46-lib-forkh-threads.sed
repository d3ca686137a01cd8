# file: lib/api/init.c
# tests: programs/prog_fork.sh
# bug: fork handlers not registered when a second thread appears
0,/^\tif (!__libc_single_threaded)$/{/^\tif (!__libc_single_threaded)$/s|(!__libc|(0 \&\& !__libc|}
