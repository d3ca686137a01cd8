/*
 * check_protocol.c: the wire codec in memreclaim/protocol.h: a round trip
 * for every frame type, every way a frame can be malformed, and a seeded
 * mutation run (every mutant is either rejected or decodes to a frame that
 * passes the same checks; nothing reads out of bounds under ASan).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <memreclaim/protocol.h>
#include "common/protocol.h"

#include "check_main.h"
#include "daemon_test.h"

static unsigned char buf[MR_PROTO_MAX_FRAME + 64];

START_TEST(test_protocol_round_trip_every_type)
{
	struct mr_proto_msg m;
	struct mr_proto_hello h = {MR_PROTO_LIBVERSION(0, 1, 0), MR_FEAT_ALL,
				   1000, 0};
	struct mr_proto_stats st = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 3, 0};
	struct mr_proto_trim t = {1 << 20, MR_PROTO_URGENCY_NOW, 500};
	struct mr_proto_trim_done d = {123, 456, 1, 0};
	struct mr_proto_limit l = {0};
	struct mr_proto_bye b = {MR_BYE_SHUTDOWN, 0};
	struct mr_proto_ctl_request r;
	struct mr_proto_ctl_status cs;
	struct mr_proto_ctl_client cc;
	struct mr_proto_ctl_cgroup cg;
	struct mr_proto_ctl_done cd;
	int n;

	n = mrc_proto_encode_hello(buf, sizeof(buf), 1, &h);
	ck_assert_int_eq(n, 32);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_HELLO);
	ck_assert_int_eq(memcmp(&m.u.hello, &h, sizeof(h)), 0);
	ck_assert_uint_eq(m.hdr.seq, 1);

	n = mrc_proto_encode_stats(buf, sizeof(buf), 2, &st);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_STATS);
	ck_assert_int_eq(memcmp(&m.u.stats, &st, sizeof(st)), 0);

	n = mrc_proto_encode_trim(buf, sizeof(buf), 3, &t);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_TRIM);
	ck_assert_uint_eq(m.u.trim.bytes, 1 << 20);
	ck_assert_uint_eq(m.u.trim.deadline_ms, 500);

	n = mrc_proto_encode_trim_done(buf, sizeof(buf), 3, &d);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_TRIM_DONE);
	ck_assert_int_eq(memcmp(&m.u.trim_done, &d, sizeof(d)), 0);
	d.error = -ENOMEM;
	n = mrc_proto_encode_trim_done(buf, sizeof(buf), 3, &d);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_TRIM_DONE);
	ck_assert_int_eq(m.u.trim_done.error, -ENOMEM);

	n = mrc_proto_encode_limit(buf, sizeof(buf), 4, &l);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_LIMIT);
	n = mrc_proto_encode_bye(buf, sizeof(buf), 5, &b);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_BYE);
	ck_assert_uint_eq(m.u.bye.reason, MR_BYE_SHUTDOWN);

	memset(&r, 0, sizeof(r));
	r.cmd = MR_CTL_TRIM_CGROUP;
	r.bytes = 4096;
	r.urgency = MR_PROTO_URGENCY_LAZY;
	strcpy(r.cgroup, "/box/app");
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_REQUEST, 6, &r);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_CTL_REQUEST);
	ck_assert_str_eq(m.u.ctl_request.cgroup, "/box/app");

	memset(&cs, 0, sizeof(cs));
	cs.clients = 3;
	cs.host_some_avg10 = 1.5;
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_STATUS, 7, &cs);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_CTL_STATUS);
	ck_assert_uint_eq(m.u.ctl_status.clients, 3);

	memset(&cc, 0, sizeof(cc));
	cc.pid = 42;
	strcpy(cc.cgroup, "/x");
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_CLIENT, 8, &cc);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_CTL_CLIENT);
	ck_assert_int_eq(m.u.ctl_client.pid, 42);

	memset(&cg, 0, sizeof(cg));
	cg.limit_bytes = UINT64_MAX;
	strcpy(cg.path, "/");
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_CGROUP, 9, &cg);
	ck_assert_int_le(n, MR_PROTO_MAX_FRAME);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_CTL_CGROUP);

	memset(&cd, 0, sizeof(cd));
	cd.status = -ESRCH;
	strcpy(cd.message, "no such client");
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_DONE, 10, &cd);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_CTL_DONE);
	ck_assert_str_eq(m.u.ctl_done.message, "no such client");
}
END_TEST

static int
trim_frame(void)
{
	struct mr_proto_trim t = {4096, MR_PROTO_URGENCY_LAZY, 100};

	return mrc_proto_encode_trim(buf, sizeof(buf), 1, &t);
}

START_TEST(test_protocol_rejects_bad_header)
{
	struct mr_proto_msg m;
	struct mr_proto_hdr *h = (struct mr_proto_hdr *)buf;
	int n;

	ck_assert_int_eq(mrc_proto_decode(buf, 0, &m), -EBADMSG);
	ck_assert_int_eq(mrc_proto_decode(buf, 15, &m), -EBADMSG);
	ck_assert_int_eq(mrc_proto_decode(NULL, 32, &m), -EBADMSG);

	n = trim_frame();
	h->magic ^= 1;
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EBADMSG);
	n = trim_frame();
	h->version = 2;
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EPROTO);
	n = trim_frame();
	h->version = 0;
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EPROTO);
	n = trim_frame();
	h->type = 0;
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EPROTO);
	h->type = 10;
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EPROTO);
	h->type = 0xffff;
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EPROTO);
	/* header length disagrees with the datagram */
	n = trim_frame();
	h->length = (uint32_t)n + 1;
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EMSGSIZE);
	h->length = (uint32_t)n - 1;
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EMSGSIZE);
	/* datagram cut short, or padded, with a matching header */
	n = trim_frame();
	h->length = (uint32_t)n - 8;
	ck_assert_int_eq(mrc_proto_decode(buf, n - 8, &m), -EMSGSIZE);
	n = trim_frame();
	h->length = (uint32_t)n + 8;
	ck_assert_int_eq(mrc_proto_decode(buf, n + 8, &m), -EMSGSIZE);
	/* a TRIM payload labelled as STATS */
	n = trim_frame();
	h->type = MR_MSG_STATS;
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EMSGSIZE);
	/* oversized */
	n = trim_frame();
	h->length = MR_PROTO_MAX_FRAME + 1;
	ck_assert_int_eq(mrc_proto_decode(buf, MR_PROTO_MAX_FRAME + 1, &m),
			 -EMSGSIZE);
}
END_TEST

/* Patch a field of an encoded frame, then decode. */
#define PATCH(type, field, value)                                              \
	do {                                                                   \
		type *p_ = (type *)(buf + sizeof(struct mr_proto_hdr));        \
		p_->field = (value);                                           \
	} while (0)

START_TEST(test_protocol_rejects_bad_fields)
{
	struct mr_proto_msg m;
	struct mr_proto_hello h = {1, MR_FEAT_ALL, 1000, 0};
	struct mr_proto_stats st;
	struct mr_proto_trim_done d = {1, 1, 1, 0};
	struct mr_proto_bye b = {0, 0};
	struct mr_proto_ctl_request r;
	struct mr_proto_ctl_done cd;
	int n;

#define BAD(enc, obj, type, field, value)                                      \
	do {                                                                   \
		n = enc(buf, sizeof(buf), 1, &obj);                            \
		ck_assert_int_gt(n, 0);                                        \
		PATCH(type, field, value);                                     \
		ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);       \
	} while (0)
	BAD(mrc_proto_encode_hello, h, struct mr_proto_hello, reserved, 1);
	BAD(mrc_proto_encode_hello, h, struct mr_proto_hello, features, 0x8);
	BAD(mrc_proto_encode_hello, h, struct mr_proto_hello, stats_interval_ms,
	    0);
	memset(&st, 0, sizeof(st));
	BAD(mrc_proto_encode_stats, st, struct mr_proto_stats, reserved, 9);
	BAD(mrc_proto_encode_stats, st, struct mr_proto_stats, purge_backend,
	    4);
	n = trim_frame();
	PATCH(struct mr_proto_trim, bytes, 0);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	n = trim_frame();
	PATCH(struct mr_proto_trim, urgency, 3);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	n = trim_frame();
	PATCH(struct mr_proto_trim, urgency, 0);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	BAD(mrc_proto_encode_trim_done, d, struct mr_proto_trim_done, error, 5);
	BAD(mrc_proto_encode_trim_done, d, struct mr_proto_trim_done, error,
	    -5000);
	BAD(mrc_proto_encode_trim_done, d, struct mr_proto_trim_done, backend,
	    9);
	BAD(mrc_proto_encode_bye, b, struct mr_proto_bye, reason, 99);
	BAD(mrc_proto_encode_bye, b, struct mr_proto_bye, reserved, 1);
#undef BAD

	memset(&r, 0, sizeof(r));
	r.cmd = MR_CTL_STATUS;
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_REQUEST, 1, &r);
	ck_assert_int_gt(n, 0);
	PATCH(struct mr_proto_ctl_request, cmd, 0);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	PATCH(struct mr_proto_ctl_request, cmd, MR_CTL_CMD_MAX + 1);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	PATCH(struct mr_proto_ctl_request, cmd, MR_CTL_STATUS);
	PATCH(struct mr_proto_ctl_request, pid, 5); /* status takes none */
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	PATCH(struct mr_proto_ctl_request, pid, 0);
	/* unterminated string */
	memset(buf + sizeof(struct mr_proto_hdr) +
		   offsetof(struct mr_proto_ctl_request, cgroup),
	       'a', MR_PROTO_CGROUP_MAX);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	/* bytes after the NUL must be zero */
	memset(&r, 0, sizeof(r));
	r.cmd = MR_CTL_TRIM_CGROUP;
	r.bytes = 1;
	r.urgency = MR_PROTO_URGENCY_NOW;
	strcpy(r.cgroup, "/a");
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_REQUEST, 1, &r);
	ck_assert_int_gt(n, 0);
	buf[sizeof(struct mr_proto_hdr) +
	    offsetof(struct mr_proto_ctl_request, cgroup) + 10] = 'x';
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	/* trims need bytes, urgency, a pid > 0 / an absolute cgroup */
	r.bytes = 0;
	ck_assert_int_eq(
	    mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_REQUEST, 1, &r),
	    -EINVAL);
	r.bytes = 1;
	strcpy(r.cgroup, "rel");
	ck_assert_int_eq(
	    mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_REQUEST, 1, &r),
	    -EINVAL);
	memset(&r, 0, sizeof(r));
	r.cmd = MR_CTL_TRIM_PID;
	r.bytes = 1;
	r.urgency = MR_PROTO_URGENCY_NOW;
	r.pid = -1;
	ck_assert_int_eq(
	    mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_REQUEST, 1, &r),
	    -EINVAL);
	memset(&cd, 0, sizeof(cd));
	cd.status = 1;
	ck_assert_int_eq(
	    mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_DONE, 1, &cd),
	    -EINVAL);
}
END_TEST

START_TEST(test_protocol_encode_checks)
{
	struct mr_proto_trim t = {0, MR_PROTO_URGENCY_LAZY, 1};
	struct mr_proto_limit l = {1};

	/* a sender cannot build what its peer must reject */
	ck_assert_int_eq(mrc_proto_encode_trim(buf, sizeof(buf), 1, &t),
			 -EINVAL);
	ck_assert_int_eq(mrc_proto_encode_limit(buf, 23, 1, &l), -ENOBUFS);
	ck_assert_int_eq(mrc_proto_encode_limit(buf, 24, 1, &l), 24);
	ck_assert_int_eq(mrc_proto_encode(buf, sizeof(buf), 99, 1, &l),
			 -EPROTO);
	ck_assert_int_eq(mrc_proto_from_client(MR_MSG_HELLO), 1);
	ck_assert_int_eq(mrc_proto_from_client(MR_MSG_TRIM), 0);
	ck_assert_int_eq(mrc_proto_from_client(MR_MSG_CTL_REQUEST), 0);
}
END_TEST

START_TEST(test_protocol_mutations)
{
	struct mr_proto_stats st = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 0};
	struct mr_proto_msg m;
	unsigned int seed = 12345;
	int i, n, rc, ok = 0, bad = 0;

	for (i = 0; i < 20000; i++) {
		int j, flips = 1 + (int)(rand_r(&seed) % 4);
		size_t len;

		n = mrc_proto_encode_stats(buf, sizeof(buf), 1, &st);
		len = (size_t)n;
		for (j = 0; j < flips; j++)
			buf[rand_r(&seed) % (unsigned)n] ^=
			    (unsigned char)(1 + rand_r(&seed) % 255);
		if (rand_r(&seed) % 8 == 0)
			len = rand_r(&seed) % sizeof(buf);
		rc = mrc_proto_decode(buf, len, &m);
		if (rc > 0) {
			ok++;
			/* What the protocol (protocol.h) requires of an
			 * accepted STATS frame, checked here rather than by
			 * the decoder's own validator: */
			ck_assert_int_eq(rc, MR_MSG_STATS);
			ck_assert_uint_eq(m.hdr.magic, MR_PROTO_MAGIC);
			ck_assert_uint_eq(m.hdr.version, MR_PROTO_VERSION);
			ck_assert_uint_eq(m.u.stats.reserved, 0);
			ck_assert_uint_le(m.u.stats.purge_backend, 3);
			ck_assert_uint_eq(m.hdr.length, len);
		} else {
			bad++;
			ck_assert(rc == -EBADMSG || rc == -EPROTO ||
				  rc == -EMSGSIZE || rc == -EINVAL);
		}
	}
	/* both outcomes happen: payload flips pass, header flips do not */
	ck_assert_int_gt(ok, 0);
	ck_assert_int_gt(bad, 0);
}
END_TEST

START_TEST(test_protocol_profile_frames_are_strict)
{
	struct mr_proto_prof_data pd;
	struct mr_proto_prof_request pr = {MR_PROF_OP_DUMP, MR_PROF_KIND_INUSE,
					   0};
	struct mr_proto_prof_end pe = {0, 0, 1000};
	struct mr_proto_ctl_request r;
	struct mr_proto_msg m;
	int n;

	memset(&pd, 0, sizeof(pd));
	pd.len = 3;
	memcpy(pd.data, "abc", 3);
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_PROF_DATA, 1, &pd);
	ck_assert_int_eq(n, 16 + (int)sizeof(pd));
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_PROF_DATA);
	ck_assert(mrc_proto_from_client(MR_MSG_PROF_DATA));
	ck_assert(!mrc_proto_from_client(MR_MSG_PROF_REQUEST));
	/* stale bytes after len, an empty or oversized chunk */
	pd.data[10] = 1;
	ck_assert_int_eq(mrc_proto_encode(buf, sizeof(buf), MR_MSG_PROF_DATA,
					  1, &pd),
			 -EINVAL);
	pd.data[10] = 0;
	pd.len = 0;
	ck_assert_int_lt(mrc_proto_encode(buf, sizeof(buf), MR_MSG_PROF_DATA,
					  1, &pd),
			 0);
	pd.len = MR_PROTO_PROF_CHUNK + 1;
	ck_assert_int_lt(mrc_proto_encode(buf, sizeof(buf), MR_MSG_PROF_DATA,
					  1, &pd),
			 0);
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_PROF_REQUEST, 1, &pr);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_PROF_REQUEST);
	pr.kind = 3;
	ck_assert_int_lt(mrc_proto_encode(buf, sizeof(buf),
					  MR_MSG_PROF_REQUEST, 1, &pr),
			 0);
	pr.op = 3;
	pr.kind = MR_PROF_KIND_INUSE;
	ck_assert_int_lt(mrc_proto_encode(buf, sizeof(buf),
					  MR_MSG_PROF_REQUEST, 1, &pr),
			 0);
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_PROF_END, 1, &pe);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_PROF_END);
	pe.status = 5;
	ck_assert_int_lt(mrc_proto_encode(buf, sizeof(buf), MR_MSG_PROF_END,
					  1, &pe),
			 0);
	/* CTL_PROFILE needs a pid and a known kind */
	memset(&r, 0, sizeof(r));
	r.cmd = MR_CTL_PROFILE;
	r.pid = 42;
	r.bytes = MR_PROF_KIND_ALLOC | MR_PROF_KIND_TEXT;
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_REQUEST, 1, &r);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_CTL_REQUEST);
	r.bytes = 4;
	ck_assert_int_lt(mrc_proto_encode(buf, sizeof(buf),
					  MR_MSG_CTL_REQUEST, 1, &r),
			 0);
	r.bytes = MR_PROF_KIND_INUSE;
	r.pid = 0;
	ck_assert_int_lt(mrc_proto_encode(buf, sizeof(buf),
					  MR_MSG_CTL_REQUEST, 1, &r),
			 0);
}
END_TEST

/* A string field with no NUL in its whole length is refused, as is one
 * with bytes after its NUL (stale memory must not travel). */
START_TEST(test_proto_unterminated_string_refused)
{
	struct mr_proto_ctl_client cc;
	struct mr_proto_msg m;
	unsigned char buf[MR_PROTO_MAX_FRAME];
	int n;

	memset(&cc, 'a', sizeof(cc));
	cc.pid = 42;
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_CLIENT, 8, &cc);
	if (n > 0)
		ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	else
		ck_assert_int_eq(n, -EINVAL);
	memset(&cc, 0, sizeof(cc));
	strcpy(cc.cgroup, "/x");
	cc.cgroup[5] = 'z';
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_CLIENT, 8, &cc);
	if (n > 0)
		ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	else
		ck_assert_int_eq(n, -EINVAL);
}
END_TEST

/* The control additions: CTL_TEXT lines, MR_CTL_CONFIG and the WAIT flag
 * of trims, each field out of range refused. */
START_TEST(test_protocol_ctl_text_config_wait)
{
	struct mr_proto_ctl_text t;
	struct mr_proto_ctl_request r;
	struct mr_proto_msg m;
	int n;

	memset(&t, 0, sizeof(t));
	t.kind = MR_CTL_TEXT_ERROR;
	strcpy(t.text, "/etc/memreclaim.conf:3: unknown key 'x'");
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_TEXT, 1, &t);
	ck_assert_int_eq(n, 16 + 520);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_CTL_TEXT);
	ck_assert_str_eq(m.u.ctl_text.text, t.text);
	PATCH(struct mr_proto_ctl_text, kind, MR_CTL_TEXT_MAX + 1);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	PATCH(struct mr_proto_ctl_text, kind, MR_CTL_TEXT_ERROR);
	PATCH(struct mr_proto_ctl_text, pid, 7); /* only COMM names a pid */
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	PATCH(struct mr_proto_ctl_text, kind, MR_CTL_TEXT_COMM);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_CTL_TEXT);
	PATCH(struct mr_proto_ctl_text, pid, 0); /* ... and must */
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	PATCH(struct mr_proto_ctl_text, pid, 7);
	buf[16 + offsetof(struct mr_proto_ctl_text, text) + 100] = 'x';
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);

	memset(&r, 0, sizeof(r));
	r.cmd = MR_CTL_CONFIG;
	strcpy(r.cgroup, "/system.slice/redis.service");
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_REQUEST, 1, &r);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_CTL_REQUEST);
	PATCH(struct mr_proto_ctl_request, pid, 3);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	PATCH(struct mr_proto_ctl_request, pid, 0);
	PATCH(struct mr_proto_ctl_request, flags, MR_CTL_F_WAIT);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
	r.cgroup[0] = 'x'; /* relative */
	ck_assert_int_eq(
	    mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_REQUEST, 1, &r),
	    -EINVAL);

	memset(&r, 0, sizeof(r));
	r.cmd = MR_CTL_TRIM_PID;
	r.pid = 42;
	r.bytes = 1 << 20;
	r.urgency = MR_PROTO_URGENCY_LAZY;
	r.flags = MR_CTL_F_WAIT;
	n = mrc_proto_encode(buf, sizeof(buf), MR_MSG_CTL_REQUEST, 1, &r);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), MR_MSG_CTL_REQUEST);
	ck_assert_uint_eq(m.u.ctl_request.flags, MR_CTL_F_WAIT);
	PATCH(struct mr_proto_ctl_request, flags, 2);
	ck_assert_int_eq(mrc_proto_decode(buf, n, &m), -EINVAL);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("protocol");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_protocol_round_trip_every_type);
	tcase_add_test(tc, test_proto_unterminated_string_refused);
	tcase_add_test(tc, test_protocol_rejects_bad_header);
	tcase_add_test(tc, test_protocol_rejects_bad_fields);
	tcase_add_test(tc, test_protocol_encode_checks);
	tcase_add_test(tc, test_protocol_mutations);
	tcase_add_test(tc, test_protocol_profile_frames_are_strict);
	tcase_add_test(tc, test_protocol_ctl_text_config_wait);
	tcase_add_test(tc, test_proto_unterminated_string_refused);
	suite_add_tcase(s, tc);
	return s;
}
