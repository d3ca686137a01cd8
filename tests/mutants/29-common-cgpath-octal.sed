# file: common/cgpath.c
# tests: unit/check_cgpath
# bug: mountinfo octal escapes decoded wrong
s|((f\[i + 2\] - '0') << 3) \| (f\[i + 3\] - '0'));|((f[i + 2] - '0') << 4) \| (f[i + 3] - '0'));|
