# file: lib/core/central.c
# tests: unit/check_tcache unit/check_numa
# bug: central list's out count not decremented on return
s|^\tc->out--;|\t;|
