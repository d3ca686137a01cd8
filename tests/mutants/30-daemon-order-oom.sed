# file: daemon/policy.c
# tests: unit/check_policy
# bug: oom_score_adj order reversed
s|return a->oom_score_adj > b->oom_score_adj;|return a->oom_score_adj < b->oom_score_adj;|
