# file: common/parse.c
# tests: unit/check_parse
# bug: size suffixes decimal instead of binary
s|mult = 1ull << (10 \* (i + 1));|mult = 1000ull << (10 * i);|
