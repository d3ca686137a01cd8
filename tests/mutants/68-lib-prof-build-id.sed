# file: lib/prof/write.c
# tests: system/sys_profile.sh
# bug: the build id note is never recognised
s|if (h.n_type == NT_GNU_BUILD_ID && h.n_namesz == 4 &&|if (h.n_type == 0 \&\& h.n_namesz == 4 \&\&|
