# file: lib/release/policy.c
# tests: unit/check_relpolicy
# bug: out of CPU credit, the next cycle is still pulled forward for young hugepages (cycles that can release nothing, a millisecond apart under churn)
s|^\t\treturn now_ns + (debt ? debt : MRI_REL_MIN_SLEEP_NS) /$|\t\tnext = now_ns + (debt ? debt : MRI_REL_MIN_SLEEP_NS) /|
