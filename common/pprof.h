/*
 * common/pprof.h: the byte-level pieces of a pprof profile: protobuf
 * wire-format primitives into a bounded buffer, and a gzip member made of
 * deflate "stored" blocks written through a callback.
 *
 * It knows the wire formats (protobuf varints and length-delimited fields,
 * RFC 1951 stored blocks, RFC 1952 header and trailer, CRC-32), not what a
 * profile contains: lib/prof builds the Profile message (profile.proto of
 * github.com/google/pprof) on top.  A stored-block gzip is what every gzip
 * reader accepts and costs no compressor in the allocator; heap profiles
 * are small (tens of KiB).  Nothing here allocates: buffers are the
 * caller's.  Functions return 0 or -errno.
 */
#ifndef MRC_PPROF_H
#define MRC_PPROF_H

#include <stddef.h>
#include <stdint.h>

/* Protobuf wire types. */
#define MRC_PB_VARINT 0
#define MRC_PB_LEN 2

/* A message being built in a caller's buffer.  Writes past cap set
 * overflow and are dropped: check it once when the message is done. */
struct mrc_pb {
	unsigned char *buf;
	size_t len, cap;
	int overflow;
};

void mrc_pb_init(struct mrc_pb *pb, void *buf, size_t cap);
void mrc_pb_varint(struct mrc_pb *pb, uint64_t v);
/* field = v as a varint (uint64, or int64 reinterpreted: negative values
 * take ten bytes, as protobuf's int64 does). */
void mrc_pb_uint(struct mrc_pb *pb, unsigned field, uint64_t v);
/* field = n bytes (bytes, string or an embedded message). */
void mrc_pb_bytes(struct mrc_pb *pb, unsigned field, const void *p, size_t n);
/* field = n varints, packed. */
void mrc_pb_packed(struct mrc_pb *pb, unsigned field, const uint64_t *v,
		   size_t n);

/* Decoding, for tests and tools: read one varint at *p (< end), advance *p.
 * Returns 0 or -EBADMSG (truncated or longer than ten bytes). */
int mrc_pb_read_varint(const unsigned char **p, const unsigned char *end,
		       uint64_t *v);

/* Where gzip output goes: write all n bytes or return -errno. */
typedef int (*mrc_sink_fn)(void *ctx, const void *p, size_t n);

#define MRC_GZ_BLOCK 16384 /* bytes per stored block (<= 65535) */

struct mrc_gz {
	mrc_sink_fn sink;
	void *ctx;
	uint32_t crc;	/* CRC-32 of the uncompressed bytes so far */
	uint32_t isize; /* uncompressed length mod 2^32 */
	size_t n;	/* bytes waiting in buf */
	int err;	/* first sink error, sticky */
	unsigned char buf[MRC_GZ_BLOCK];
};

/* Start a member (writes the 10-byte header). */
int mrc_gz_begin(struct mrc_gz *gz, mrc_sink_fn sink, void *ctx);
int mrc_gz_write(struct mrc_gz *gz, const void *p, size_t n);
/* Flush, write the final empty block and the trailer. */
int mrc_gz_end(struct mrc_gz *gz);

uint32_t mrc_crc32(uint32_t crc, const void *p, size_t n);

#endif
