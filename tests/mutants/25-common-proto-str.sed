# file: common/protocol.c
# tests: unit/check_protocol
# bug: unterminated string field accepted
s|^\tif (i == n)$|\tif (0)|
