/*
 * check_prof.c: heap profiles.  The stored-block gzip and the protobuf
 * encoder (common/pprof) decoded back by an independent reader here; a
 * profile from mr_profile_write decoded down to its sample values; the
 * sampler's countdown (lib/prof) giving one sample per prof_interval bytes
 * on average, with its fixed seeds, counted not timed.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "memreclaim.h"
#include "common/pprof.h"
#include "prof/prof.h"

static unsigned char out[1 << 20];
static size_t out_len;

static int
mem_sink(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	if (n > sizeof(out) - out_len)
		return -ENOSPC;
	memcpy(out + out_len, p, n);
	out_len += n;
	return 0;
}

static uint32_t
le32(const unsigned char *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Inflate a gzip member of stored blocks; returns the length, -1 if bad. */
static long
gunzip_stored(const unsigned char *g, size_t n, unsigned char *dst,
	      size_t cap)
{
	size_t i = 10, len = 0;
	int final = 0;

	if (n < 18 || g[0] != 0x1f || g[1] != 0x8b || g[2] != 8 || g[3] != 0)
		return -1;
	while (!final) {
		unsigned bl, nl;
		if (i + 5 > n || (g[i] & 6) != 0) /* BTYPE must be 00 */
			return -1;
		final = g[i] & 1;
		bl = g[i + 1] | g[i + 2] << 8;
		nl = g[i + 3] | g[i + 4] << 8;
		if ((bl ^ nl) != 0xffff || i + 5 + bl > n || len + bl > cap)
			return -1;
		memcpy(dst + len, g + i + 5, bl);
		len += bl;
		i += 5 + bl;
	}
	if (i + 8 != n || le32(g + i) != mrc_crc32(0, dst, len) ||
	    le32(g + i + 4) != (uint32_t)len)
		return -1;
	return (long)len;
}

START_TEST(test_gzip_stored_round_trips_across_blocks)
{
	static unsigned char data[3 * MRC_GZ_BLOCK + 77], back[sizeof(data)];
	static struct mrc_gz gz;
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + (i >> 9));
	out_len = 0;
	ck_assert_int_eq(mrc_gz_begin(&gz, mem_sink, NULL), 0);
	/* uneven writes, across block boundaries */
	ck_assert_int_eq(mrc_gz_write(&gz, data, 1000), 0);
	ck_assert_int_eq(mrc_gz_write(&gz, data + 1000, sizeof(data) - 1000),
			 0);
	ck_assert_int_eq(mrc_gz_end(&gz), 0);
	ck_assert_int_eq(gunzip_stored(out, out_len, back, sizeof(back)),
			 (long)sizeof(data));
	ck_assert(!memcmp(back, data, sizeof(data)));
	/* CRC-32 of "123456789" is the standard check value */
	ck_assert_uint_eq(mrc_crc32(0, "123456789", 9), 0xcbf43926u);
}
END_TEST

START_TEST(test_pb_encodes_varints_fields_and_packed_as_protobuf_does)
{
	unsigned char b[64];
	const unsigned char *p, *end;
	uint64_t v, vals[3] = {1, 300, (uint64_t)-1};
	struct mrc_pb pb;

	mrc_pb_init(&pb, b, sizeof(b));
	mrc_pb_uint(&pb, 1, 150); /* the protobuf docs' example: 08 96 01 */
	ck_assert_int_eq(pb.len, 3);
	ck_assert(b[0] == 0x08 && b[1] == 0x96 && b[2] == 0x01);
	mrc_pb_packed(&pb, 2, vals, 3);
	/* tag 0x12, length 1 + 2 + 10 */
	ck_assert(b[3] == 0x12 && b[4] == 13);
	p = b + 5;
	end = b + pb.len;
	ck_assert_int_eq(mrc_pb_read_varint(&p, end, &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(mrc_pb_read_varint(&p, end, &v), 0);
	ck_assert_uint_eq(v, 300);
	ck_assert_int_eq(mrc_pb_read_varint(&p, end, &v), 0);
	ck_assert_uint_eq(v, UINT64_MAX);
	ck_assert(p == end && !pb.overflow);
	/* too small a buffer says so instead of writing past it */
	mrc_pb_init(&pb, b, 4);
	mrc_pb_bytes(&pb, 6, "hello", 5);
	ck_assert(pb.overflow);
}
END_TEST

/* Walk a message: calls fn for each field. */
static void
pb_walk(const unsigned char *p, const unsigned char *end,
	void (*fn)(unsigned f, uint64_t v, const unsigned char *b, size_t n,
		   void *ctx),
	void *ctx)
{
	uint64_t key, v;

	while (p < end) {
		ck_assert_int_eq(mrc_pb_read_varint(&p, end, &key), 0);
		ck_assert_int_eq(mrc_pb_read_varint(&p, end, &v), 0);
		if ((key & 7) == MRC_PB_LEN) {
			ck_assert(v <= (uint64_t)(end - p));
			fn((unsigned)(key >> 3), v, p, (size_t)v, ctx);
			p += v;
		} else {
			ck_assert_uint_eq(key & 7, MRC_PB_VARINT);
			fn((unsigned)(key >> 3), v, NULL, 0, ctx);
		}
	}
}

struct prof_seen {
	int strings, samples, locations, mappings, inuse_space;
	uint64_t space;	  /* sum of the second value of every sample */
	uint64_t objects; /* sum of the first */
	int value_i;
};

static void
sample_field(unsigned f, uint64_t v, const unsigned char *b, size_t n,
	     void *ctx)
{
	struct prof_seen *s = ctx;
	const unsigned char *p = b, *end = b + n;

	if (f != 2 || !b)
		return;
	ck_assert_int_eq(mrc_pb_read_varint(&p, end, &v), 0);
	s->objects += v;
	ck_assert_int_eq(mrc_pb_read_varint(&p, end, &v), 0);
	s->space += v;
	ck_assert(p == end);
}

static void
profile_field(unsigned f, uint64_t v, const unsigned char *b, size_t n,
	      void *ctx)
{
	struct prof_seen *s = ctx;

	(void)v;
	if (f == 6) {
		s->strings++;
		if (n == 11 && !memcmp(b, "inuse_space", 11))
			s->inuse_space = 1;
	} else if (f == 2) {
		s->samples++;
		pb_walk(b, b + n, sample_field, s);
	} else if (f == 4) {
		s->locations++;
	} else if (f == 3) {
		s->mappings++;
	}
}

/* Write an in-use profile now and decode it into *seen. */
static void
inuse_profile(struct prof_seen *seen)
{
	static unsigned char raw[1 << 20];
	long n;

	out_len = 0;
	ck_assert_int_eq(mr_profile_write(MR_PROFILE_INUSE, mem_sink, NULL),
			 0);
	n = gunzip_stored(out, out_len, raw, sizeof(raw));
	ck_assert_int_gt(n, 0);
	pb_walk(raw, raw + n, profile_field, seen);
}

START_TEST(test_profile_decodes_back_with_scaled_in_use_estimates)
{
	struct prof_seen seen = {0};
	enum { N = 64, SIZE = 1 << 20 };
	static void *keep[N];
	uint64_t objs, bytes;
	int i;

	ck_assert_int_eq(mr_option_set("prof", "1"), 0);
	for (i = 0; i < N; i++)
		keep[i] = mr_malloc(SIZE);
	for (i = 0; i < N / 2; i++) /* half go: they leave the profile */
		mr_free(keep[i]);
	ck_assert_int_eq(mr_option_set("prof", "0"), 0);
	inuse_profile(&seen);
	ck_assert(seen.inuse_space);
	ck_assert_int_gt(seen.samples, 0);
	ck_assert_int_gt(seen.locations, 0);
	ck_assert_int_gt(seen.mappings, 0);
	/* 32 MiB live in 1 MiB objects: each sample weighs
	 * 1 / (1 - e^-2) = 1.156 objects; sd 6%, so 32 MiB +- 20% is more
	 * than 3 sd (the seeds are fixed: this run gives -13%) */
	mri_prof_scale(1, SIZE, 512 << 10, &objs, &bytes);
	ck_assert_uint_eq(objs, 1);
	ck_assert_uint_eq(bytes, 1212697); /* 1 MiB / 0.86466 */
	ck_assert_msg(seen.space >= 25ull * SIZE && seen.space <= 39ull * SIZE,
		      "in use %llu bytes, expected about 32 MiB",
		      (unsigned long long)seen.space);
	for (i = N / 2; i < N; i++)
		mr_free(keep[i]);
	/* a bad kind is refused */
	ck_assert_int_eq(mr_profile_write(7, mem_sink, NULL), -EINVAL);
}
END_TEST

/* The in-use objects of a profile written now. */
static uint64_t
inuse_objects(void)
{
	struct prof_seen seen = {0};

	inuse_profile(&seen);
	return seen.objects;
}

START_TEST(test_live_table_keeps_every_record_through_churn)
{
	/* At a 1-byte interval every allocation is sampled and weighs one
	 * object, so the in-use profile counts exactly the sampled objects
	 * still live.  20000 objects freed in a scrambled order while as
	 * many more come and go moves records about the live table
	 * (removals shift later records back); a record lost or removed
	 * for the wrong address shows as a wrong count. */
	enum { N = 20000 };
	static void *keep[N];
	uint64_t before;
	unsigned i, j, x = 12345;

	before = inuse_objects();
	ck_assert_int_eq(mr_option_set("prof_interval", "1"), 0);
	ck_assert_int_eq(mr_option_set("prof", "1"), 0);
	for (i = 0; i < N; i++)
		keep[i] = mr_malloc(64);
	for (i = 0; i < N; i++) { /* replace half, in a scrambled order */
		x = x * 1103515245u + 12345u;
		j = (x >> 8) % N;
		if (j % 2 == 0) {
			mr_free(keep[j]);
			keep[j] = mr_malloc(64);
		}
	}
	ck_assert_int_eq(mr_option_set("prof", "0"), 0);
	ck_assert_uint_eq(inuse_objects() - before, N);
	for (i = 0; i < N; i += 2) {
		x = x * 1103515245u + 12345u;
		j = ((x >> 8) % (N / 2)) * 2 + 1; /* odd ones, scrambled */
		mr_free(keep[j]);
		keep[j] = NULL;
		mr_free(keep[i]);
		keep[i] = NULL;
	}
	for (i = 1; i < N; i += 2)
		mr_free(keep[i]);
	ck_assert_uint_eq(inuse_objects(), before);
	ck_assert_int_eq(mr_option_set("prof_interval", "512KiB"), 0);
}
END_TEST

/* Allocate `total` bytes in `size` pieces through the countdown; returns
 * the samples taken. */
static uint64_t
sampler_run(uint64_t total, size_t size)
{
	uint64_t done, samples = 0;

	for (done = 0; done < total; done += size) {
		mri_tls_prof_left -= (int64_t)size;
		if (mri_tls_prof_left < 0 && mri_prof_tick(size))
			samples++;
	}
	return samples;
}

/* The estimate of the bytes allocated that n samples of size stand for,
 * as a fraction of total. */
static double
sampler_estimate(uint64_t n, size_t size, uint64_t interval, uint64_t total)
{
	uint64_t objs, bytes;

	mri_prof_scale(n, size, interval, &objs, &bytes);
	return (double)bytes / (double)total;
}

START_TEST(test_sampler_mean_interval_is_prof_interval)
{
	/* Each allocation of s bytes is sampled with p = 1 - exp(-s / I):
	 * 2 GiB in 4 KiB pieces at 512 KiB gives 4080 samples on average
	 * (sd 64), and the weighted estimate must come back to 2 GiB.  The
	 * seeds are fixed, so the counts are repeatable; 5% is ~3 sd. */
	uint64_t n;
	double e;

	ck_assert_int_eq(mr_option_set("prof_interval", "512KiB"), 0);
	ck_assert_int_eq(mr_option_set("prof", "1"), 0); /* ticks sample */
	n = sampler_run(1ull << 31, 4096);
	e = sampler_estimate(n, 4096, 512 << 10, 1ull << 31);
	ck_assert_msg(e > 0.95 && e < 1.05, "%llu samples: estimate %.3f",
		      (unsigned long long)n, e);
	/* a mean of 64 KiB: 8x as many samples for the same bytes */
	ck_assert_int_eq(mr_option_set("prof_interval", "64KiB"), 0);
	n = sampler_run(1ull << 28, 4096);
	e = sampler_estimate(n, 4096, 64 << 10, 1ull << 28);
	ck_assert_msg(e > 0.95 && e < 1.05, "%llu samples: estimate %.3f",
		      (unsigned long long)n, e);
	/* objects larger than the interval: nearly all sampled */
	n = sampler_run(1ull << 30, 1 << 20);
	e = sampler_estimate(n, 1 << 20, 64 << 10, 1ull << 30);
	ck_assert_msg(e > 0.95 && e < 1.05, "%llu samples: estimate %.3f",
		      (unsigned long long)n, e);
	ck_assert_int_eq(mr_option_set("prof", "0"), 0);
	/* off, a tick never samples: it restarts the count to the next
	 * look at the switch */
	n = sampler_run(1ull << 28, 4096);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(mr_option_set("prof_interval", "0"), -EINVAL);
	ck_assert_int_eq(mr_option_set("prof_interval", "512KiB"), 0);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("prof");
	TCase *tc = tcase_create("prof");

	tcase_add_test(tc, test_gzip_stored_round_trips_across_blocks);
	tcase_add_test(tc,
		       test_pb_encodes_varints_fields_and_packed_as_protobuf_does);
	tcase_add_test(tc, test_profile_decodes_back_with_scaled_in_use_estimates);
	tcase_add_test(tc, test_sampler_mean_interval_is_prof_interval);
	tcase_add_test(tc, test_live_table_keeps_every_record_through_churn);
	suite_add_tcase(s, tc);
	return s;
}
