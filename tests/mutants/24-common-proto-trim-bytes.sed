# file: common/protocol.c
# tests: unit/check_protocol
# bug: TRIM of 0 bytes accepted
s|if (m->u.trim.bytes == 0 \|\||if (0 \|\||
