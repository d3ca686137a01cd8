# file: lib/release/policy.c
# tests: unit/check_relpolicy
# bug: out of CPU credit, the scavenger waits for the credit even while the heap is over the soft limit's goal
s|^\t} else if (st->credit_ns == 0 \&\& !over_lgoal) {$|\t} else if (st->credit_ns == 0) {|
