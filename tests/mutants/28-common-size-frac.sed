# file: common/parse.c
# tests: unit/check_parse
# bug: fractions of sizes dropped
s|(unsigned __int128)n->frac \* mult / n->fracdiv;|0;|
