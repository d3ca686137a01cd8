# file: lib/api/init.c
# tests: programs/prog_overhead.sh
# bug: the fork handlers go through libc_nonshared's pthread_atfork stub, linked in after all of the text: a threaded program faults in the last 64 KiB window of it
s|^\t\t__register_atfork(atfork_prepare, atfork_parent, atfork_child,$|\t\tpthread_atfork(atfork_prepare, atfork_parent, atfork_child); (void)(|
