# file: lib/release/policy.c
# tests: unit/check_scavenger unit/check_relpolicy
# bug: growth beside idle pages asks for no release (the idle holes stay resident)
/^\t\tif (!urgent && grown)$/s|grown)|grown \&\& 0)|
