# file: lib/api/alloc.c
# tests: unit/check_api
# bug: a small block grown by a few bytes moves to exactly the next class (a growing buffer crosses every class, each leaving cached objects behind)
/^\tif (size > old && size - old < old \/ 4 &&/s|size > old \&\&|0 \&\&|
