# file: daemon/conf.c
# tests: unit/check_conf
# bug: percentages over 100 accepted
s|if (errno \|\| \*end != '\\0' \|\| !(x >= 0.0 \&\& x <= 100.0))|if (errno \|\| *end != '\\0')|
