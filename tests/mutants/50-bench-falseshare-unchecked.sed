# file: bench/falseshare.c
# tests: system/sys_bench_verify.sh
# bug: cache-thrash/cache-scratch (multi-threaded) stop checking their objects, so an allocator that hands one object to two threads passes
s|if (p\[k\] != (unsigned char)(i + w->writes))$|if (0 \&\& p[k] != (unsigned char)(i + w->writes))|
