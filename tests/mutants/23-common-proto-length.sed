# file: common/protocol.c
# tests: unit/check_protocol
# bug: decoder ignores the header's length
s|if (len > MR_PROTO_MAX_FRAME \|\| out->hdr.length != len \|\||if (len > MR_PROTO_MAX_FRAME \|\||
