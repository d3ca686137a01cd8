/*
 * common/protocol.h: encoding and strict decoding of memreclaimd frames.
 *
 * Owns the rules a frame must obey beyond its layout: which payload size
 * goes with which type, which fields must be zero, which enums are in
 * range, that strings are NUL-terminated and zero-padded.  The layout
 * itself (structs, enums, constants) is the public header
 * <memreclaim/protocol.h>; transport (sockets, SO_PEERCRED) is left to the
 * callers: lib/ client, daemon/ transport, ctl/.
 *
 * Encoding validates exactly as decoding does, so a sender cannot emit a
 * frame its peer must reject.  Every function returns a length or type
 * (> 0) or -errno; nothing allocates or prints.
 */
#ifndef MRC_PROTOCOL_H
#define MRC_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include <memreclaim/protocol.h>

/* Payload size of a type in this version, 0 for an unknown type. */
size_t mrc_proto_payload_size(uint16_t type);

/* 1 if a library client may send this type, 0 otherwise. */
int mrc_proto_from_client(uint16_t type);

/* Check the fields of a payload already copied into m: 0, -EINVAL, or
 * -EPROTO for an unknown type. */
int mrc_proto_check_payload(const struct mr_proto_msg *m);

/*
 * Validate one received frame of len bytes and copy it into *out.
 * Returns the frame type (> 0) or:
 *   -EBADMSG  shorter than a header, or wrong magic
 *   -EPROTO   other protocol version, or unknown type
 *   -EMSGSIZE header length differs from len, or from the type's size
 *   -EINVAL   a field out of range (see mrc_proto_check_payload)
 */
int mrc_proto_decode(const void *buf, size_t len, struct mr_proto_msg *out);

/*
 * Encode a frame of `type` with payload p (the matching mr_proto_* struct)
 * into buf.  Returns the frame length or -ENOBUFS / -EPROTO / -EINVAL.
 */
int mrc_proto_encode(void *buf, size_t len, uint16_t type, uint32_t seq,
		     const void *p);

/* Typed wrappers: the usual way to build a frame. */
int mrc_proto_encode_hello(void *buf, size_t len, uint32_t seq,
			   const struct mr_proto_hello *p);
int mrc_proto_encode_stats(void *buf, size_t len, uint32_t seq,
			   const struct mr_proto_stats *p);
int mrc_proto_encode_trim(void *buf, size_t len, uint32_t seq,
			  const struct mr_proto_trim *p);
int mrc_proto_encode_trim_done(void *buf, size_t len, uint32_t seq,
			       const struct mr_proto_trim_done *p);
int mrc_proto_encode_limit(void *buf, size_t len, uint32_t seq,
			   const struct mr_proto_limit *p);
int mrc_proto_encode_bye(void *buf, size_t len, uint32_t seq,
			 const struct mr_proto_bye *p);

#endif
