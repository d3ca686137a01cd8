# file: lib/os/layout.h
# tests: programs/prog_overhead.sh
# bug: start-up functions stay where link order puts them (the scavenger's and client's registration, the profiler's set-up land in the text's second 64 KiB window)
s|^#define MRI_STARTUP __attribute__((section(".text.startup")))$|#define MRI_STARTUP|
