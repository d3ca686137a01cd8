# file: daemon/policy.c
# tests: unit/check_policy
# bug: a round without PSI leaves a total of 0, and the next counts all stall since boot as one interval's
s|out->next.psi_missing = !in->psi_valid;|out->next.psi_missing = 0;|
