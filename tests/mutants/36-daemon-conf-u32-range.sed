# file: daemon/conf.c
# tests: unit/check_conf
# bug: out-of-range integers accepted
s|if (errno \|\| \*end != '\\0' \|\| x < lo \|\| x > hi)|if (errno \|\| *end != '\\0')|
