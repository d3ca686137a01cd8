# file: lib/release/policy.c
# tests: programs/prog_release.sh
# bug: a large excess is never released at once (waits for the release delay)
s|return idle > band ? idle - keep : 0;|return 0;|
