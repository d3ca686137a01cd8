# file: lib/os/options.c
# tests: programs/prog_overhead.sh
# bug: huge pages from the first chunk on (a small program faults 2 MiB)
s|^\(\t*\) 64 \* MiB, NULL, 0, 1024 \* TiB },$|\1 0, NULL, 0, 1024 * TiB },|
