/*
 * common/pprof.c: protobuf primitives and a stored-block gzip writer.
 * See pprof.h.
 */
#include <errno.h>
#include <string.h>
#include "pprof.h"

void
mrc_pb_init(struct mrc_pb *pb, void *buf, size_t cap)
{
	pb->buf = buf;
	pb->len = 0;
	pb->cap = cap;
	pb->overflow = 0;
}

static void
pb_put(struct mrc_pb *pb, const void *p, size_t n)
{
	if (pb->overflow || n > pb->cap - pb->len) {
		pb->overflow = 1;
		return;
	}
	memcpy(pb->buf + pb->len, p, n);
	pb->len += n;
}

void
mrc_pb_varint(struct mrc_pb *pb, uint64_t v)
{
	unsigned char b[10];
	size_t n = 0;

	while (v >= 0x80) {
		b[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (unsigned char)v;
	pb_put(pb, b, n);
}

void
mrc_pb_uint(struct mrc_pb *pb, unsigned field, uint64_t v)
{
	mrc_pb_varint(pb, (uint64_t)field << 3 | MRC_PB_VARINT);
	mrc_pb_varint(pb, v);
}

void
mrc_pb_bytes(struct mrc_pb *pb, unsigned field, const void *p, size_t n)
{
	mrc_pb_varint(pb, (uint64_t)field << 3 | MRC_PB_LEN);
	mrc_pb_varint(pb, n);
	pb_put(pb, p, n);
}

static size_t
pb_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

void
mrc_pb_packed(struct mrc_pb *pb, unsigned field, const uint64_t *v, size_t n)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++)
		len += pb_varint_len(v[i]);
	mrc_pb_varint(pb, (uint64_t)field << 3 | MRC_PB_LEN);
	mrc_pb_varint(pb, len);
	for (i = 0; i < n; i++)
		mrc_pb_varint(pb, v[i]);
}

int
mrc_pb_read_varint(const unsigned char **p, const unsigned char *end,
		   uint64_t *v)
{
	uint64_t r = 0;
	unsigned shift;

	for (shift = 0; shift < 70; shift += 7) {
		if (*p >= end)
			return -EBADMSG;
		r |= (uint64_t)(**p & 0x7f) << shift;
		if (!(*(*p)++ & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -EBADMSG;
}

/* CRC-32 (IEEE 802.3, reflected, polynomial 0xedb88320), bit by bit: a
 * profile is a few tens of KiB, so a table is not worth its 1 KiB. */
uint32_t
mrc_crc32(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;
	int k;

	crc = ~crc;
	while (n--) {
		crc ^= *b++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static int
gz_emit(struct mrc_gz *gz, const void *p, size_t n)
{
	if (!gz->err)
		gz->err = gz->sink(gz->ctx, p, n);
	return gz->err;
}

/* One non-final stored block: header byte (BFINAL=0, BTYPE=00, padding to
 * the byte boundary), LEN and its complement, little-endian. */
static int
gz_flush(struct mrc_gz *gz, int final)
{
	unsigned char h[5];

	h[0] = final ? 1 : 0;
	h[1] = (unsigned char)gz->n;
	h[2] = (unsigned char)(gz->n >> 8);
	h[3] = (unsigned char)~h[1];
	h[4] = (unsigned char)~h[2];
	gz_emit(gz, h, sizeof(h));
	if (gz->n)
		gz_emit(gz, gz->buf, gz->n);
	gz->n = 0;
	return gz->err;
}

int
mrc_gz_begin(struct mrc_gz *gz, mrc_sink_fn sink, void *ctx)
{
	/* ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=3 (Unix) */
	static const unsigned char hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0,
					      0,    0,    0, 3};

	gz->sink = sink;
	gz->ctx = ctx;
	gz->crc = 0;
	gz->isize = 0;
	gz->n = 0;
	gz->err = 0;
	return gz_emit(gz, hdr, sizeof(hdr));
}

int
mrc_gz_write(struct mrc_gz *gz, const void *p, size_t n)
{
	const unsigned char *b = p;

	gz->crc = mrc_crc32(gz->crc, p, n);
	gz->isize += (uint32_t)n;
	while (n && !gz->err) {
		size_t k = sizeof(gz->buf) - gz->n;
		if (k > n)
			k = n;
		memcpy(gz->buf + gz->n, b, k);
		gz->n += k;
		b += k;
		n -= k;
		if (gz->n == sizeof(gz->buf))
			gz_flush(gz, 0);
	}
	return gz->err;
}

int
mrc_gz_end(struct mrc_gz *gz)
{
	unsigned char t[8];
	int i;

	gz_flush(gz, 1);
	for (i = 0; i < 4; i++) {
		t[i] = (unsigned char)(gz->crc >> (8 * i));
		t[4 + i] = (unsigned char)(gz->isize >> (8 * i));
	}
	return gz_emit(gz, t, sizeof(t));
}
