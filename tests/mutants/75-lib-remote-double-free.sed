# file: lib/core/central.c
# tests: unit/check_tcache
# bug: a remote free of an object already waiting in its span's rfree is not caught
s|^\t\tif (prev & mask\[w\])$|\t\tif (0)|
