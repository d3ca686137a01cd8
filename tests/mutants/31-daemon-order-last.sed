# file: daemon/policy.c
# tests: unit/check_policy
# bug: oom_score_adj -1000 clients trimmed first
s|^\t\treturn b_last;|\t\treturn a_last;|
