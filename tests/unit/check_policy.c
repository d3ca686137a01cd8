/*
 * check_policy.c: the decision function on hand-made sequences: who is
 * asked, for how much, how urgently, when the daemon holds back (cooldown,
 * back-off, pending trims), and the soft limits.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include <memreclaim/protocol.h>

#include "conf.h"
#include "policy.h"
#include "check_main.h"
#include "daemon_test.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define SEC 1000000000ull

static struct conf_cg cfg;

static void
setup(void)
{
	struct conf c;

	conf_defaults(&c);
	cfg = c.defaults;
}

static struct policy_client
cl(pid_t pid, int adj, uint64_t idle, uint64_t retained, uint64_t in_use)
{
	struct policy_client c;

	memset(&c, 0, sizeof(c));
	c.pid = pid;
	c.oom_score_adj = adj;
	c.has_stats = 1;
	c.idle_bytes = idle;
	c.retained_bytes = retained;
	c.in_use_bytes = in_use;
	return c;
}

static void
in_init(struct policy_in *in, uint64_t limit, uint64_t usage, uint64_t inactive,
	const struct policy_client *c, int n)
{
	memset(in, 0, sizeof(*in));
	in->cfg = &cfg;
	in->s.limit_bytes = limit;
	in->s.usage_bytes = usage;
	in->s.inactive_file_bytes = inactive;
	in->psi_valid = 1;
	in->s.psi.has_full = 1;
	in->clients = c;
	in->nclients = n;
}

START_TEST(test_policy_idle_when_no_limit_no_pressure)
{
	struct policy_client c[1] = {cl(1, 0, 500 * MIB, GIB, 100 * MIB)};
	struct policy_client_out co[1];
	struct policy_in in;
	struct policy_out out;

	in_init(&in, CGFS_NO_LIMIT, 2 * GIB, 0, c, 1);
	ck_assert_int_eq(policy_eval(&in, 10 * SEC, &out, co), 0);
	ck_assert_int_eq(out.reason, POLICY_IDLE);
	ck_assert_uint_eq(co[0].trim_bytes, 0);
	ck_assert_uint_eq(co[0].limit_bytes, POLICY_LIMIT_KEEP);
	ck_assert_uint_eq(out.headroom_bytes, 0);
	ck_assert_uint_eq(out.next.sample_ns, 10 * SEC);
}
END_TEST

/* pressure_target is a bound to pass, not to reach: a stall of exactly
 * 0.5 % asks nothing, 0.51 % asks a pressure trim (the daemon's log
 * rounds both to "0.50"/"0.51"; sys_client_pressure reads that log). */
/* One client of 500 MiB, no limit, a stall of avg10 %: the decision,
 * its reason and the client's trim. */
static int
eval_at_stall(double avg10, struct policy_out *out, uint64_t *trim)
{
	struct policy_client c[1] = {cl(1, 0, 500 * MIB, GIB, 100 * MIB)};
	struct policy_client_out co[1];
	struct policy_in in;
	int acted;

	in_init(&in, CGFS_NO_LIMIT, 2 * GIB, 0, c, 1);
	in.s.psi.some.avg10 = avg10;
	acted = policy_eval(&in, 10 * SEC, out, co);
	*trim = co[0].trim_bytes;
	return acted;
}

START_TEST(test_policy_pressure_acts_only_above_target)
{
	struct policy_out out;
	uint64_t trim;

	ck_assert_int_eq(eval_at_stall(cfg.pressure_target, &out, &trim), 0);
	ck_assert_int_eq(out.reason, POLICY_IDLE);
	ck_assert_uint_eq(trim, 0);
	ck_assert_int_eq(
	    eval_at_stall(cfg.pressure_target + 0.01, &out, &trim), 1);
	ck_assert_int_eq(out.reason, POLICY_PRESSURE);
	ck_assert_uint_gt(trim, 0);
}
END_TEST

/* A round whose PSI could not be read leaves no total behind: the next
 * round takes avg10, not the stall since boot as one interval's (which
 * was thousands of percent and a spurious pressure trim). */
START_TEST(test_policy_psi_missing_round)
{
	struct policy_client c[1] = {cl(1, 0, 500 * MIB, GIB, 100 * MIB)};
	struct policy_client_out co[1];
	struct policy_in in;
	struct policy_out out;

	in_init(&in, CGFS_NO_LIMIT, 2 * GIB, 0, c, 1);
	in.psi_valid = 0;
	in.prev.sample_ns = SEC;
	ck_assert_int_eq(policy_eval(&in, 2 * SEC, &out, co), 0);
	ck_assert_uint_eq(out.next.psi_missing, 1);
	in.psi_valid = 1;
	in.prev = out.next;
	in.s.psi.some.total_us = 5000000; /* 5 s since boot */
	ck_assert_int_eq(policy_eval(&in, 3 * SEC, &out, co), 0);
	ck_assert_double_eq_tol(out.stall_pct, 0.0, 1e-9);
	ck_assert_int_eq(out.reason, POLICY_IDLE);
	ck_assert_uint_eq(co[0].trim_bytes, 0);
	ck_assert_uint_eq(out.next.psi_missing, 0);
	/* and from this one on, differences again: +30 ms in 1 s */
	in.prev = out.next;
	in.s.psi.some.total_us = 5030000;
	(void)policy_eval(&in, 4 * SEC, &out, co);
	ck_assert_double_eq_tol(out.stall_pct, 3.0, 1e-9);
}
END_TEST

/* The worked example at the top of policy.c, to the byte. */
START_TEST(test_policy_worked_example)
{
	struct policy_client c[3] = {
	    cl(300, -1000, 200 * MIB, 300 * MIB, 100 * MIB),
	    cl(100, 500, 30 * MIB, 200 * MIB, 150 * MIB),
	    cl(200, 0, 100 * MIB, 400 * MIB, 250 * MIB),
	};
	struct policy_client_out co[3];
	struct policy_in in;
	struct policy_out out;
	uint64_t want, sum;

	in_init(&in, GIB, 980 * MIB, 20 * MIB, c, 3);
	in.prev.sample_ns = 8 * SEC;
	in.prev.some_total_us = 1000000;
	in.s.psi.some.total_us = 1060000; /* +60 ms in 2 s: 3% */
	ck_assert_int_eq(policy_eval(&in, 10 * SEC, &out, co), 2);
	ck_assert_double_eq_tol(out.stall_pct, 3.0, 1e-9);
	ck_assert_uint_eq(out.headroom_bytes, GIB / 10);
	ck_assert_uint_eq(out.working_set_bytes, 960 * MIB);
	want = (uint64_t)((double)(330 * MIB) * (2.5 / 9.5));
	ck_assert_uint_eq(out.want_bytes, want);
	ck_assert_int_eq(out.reason, POLICY_PRESSURE);
	ck_assert_uint_eq(out.urgency, MR_PROTO_URGENCY_LAZY);
	/* highest oom_score_adj first, -1000 not asked at all */
	ck_assert_uint_eq(co[1].trim_bytes, 30 * MIB);
	ck_assert_uint_eq(co[2].trim_bytes, want - 30 * MIB);
	ck_assert_uint_eq(co[0].trim_bytes, 0);
	ck_assert_uint_eq(co[1].urgency, MR_PROTO_URGENCY_LAZY);
	ck_assert_uint_eq(out.shed_bytes, want);
	/* soft limits add up to the client budget: L - H - others */
	sum = co[0].limit_bytes + co[1].limit_bytes + co[2].limit_bytes;
	ck_assert_uint_le(GIB - GIB / 10 - 60 * MIB - sum, 3);
	ck_assert_uint_gt(co[1].limit_bytes, 191 * MIB);
	ck_assert_uint_lt(co[1].limit_bytes, 192 * MIB);
	ck_assert_uint_eq(out.next.last_action_ns, 10 * SEC);
	ck_assert_uint_eq(out.next.last_asked, want);
}
END_TEST

START_TEST(test_policy_limit_excess_highest_adj_first_minus1000_last)
{
	struct policy_client c[3] = {
	    cl(1, -1000, 400 * MIB, 500 * MIB, 0),
	    cl(2, 100, 50 * MIB, 100 * MIB, 0),
	    cl(3, 900, 20 * MIB, 100 * MIB, 0),
	};
	struct policy_client_out co[3];
	struct policy_in in;
	struct policy_out out;

	/* W = 1000 MiB, L = 1 GiB, H = 102.4 MiB: excess 78.4 MiB */
	in_init(&in, GIB, 1000 * MIB, 0, c, 3);
	ck_assert_int_eq(policy_eval(&in, SEC, &out, co), 3);
	ck_assert_int_eq(out.reason, POLICY_LIMIT);
	ck_assert_uint_eq(co[2].trim_bytes, 20 * MIB); /* adj 900 */
	ck_assert_uint_eq(co[1].trim_bytes, 50 * MIB); /* adj 100 */
	/* only what the others could not give comes from -1000 */
	ck_assert_uint_eq(co[0].trim_bytes,
			  1000 * MIB + GIB / 10 - GIB - 70 * MIB);
	/* W + H/2 > L: urgent */
	ck_assert_uint_eq(out.urgency, MR_PROTO_URGENCY_NOW);
}
END_TEST

START_TEST(test_policy_order_idle)
{
	struct policy_client c[2] = {
	    cl(1, 900, 10 * MIB, 100 * MIB, 0),
	    cl(2, 0, 300 * MIB, 400 * MIB, 0),
	};
	struct policy_client_out co[2];
	struct policy_in in;
	struct policy_out out;

	cfg.order = CONF_ORDER_IDLE;
	in_init(&in, GIB, 950 * MIB, 0, c, 2); /* excess 28.4 MiB */
	ck_assert_int_eq(policy_eval(&in, SEC, &out, co), 1);
	ck_assert_uint_eq(co[1].trim_bytes, out.want_bytes);
	ck_assert_uint_eq(co[0].trim_bytes, 0);
	ck_assert_uint_eq(out.urgency, MR_PROTO_URGENCY_LAZY);
}
END_TEST

START_TEST(test_policy_urgent_pressure_asks_everything_now)
{
	struct policy_client c[2] = {
	    cl(1, 0, 64 * MIB, 100 * MIB, 0),
	    cl(2, 0, 32 * MIB, 100 * MIB, 0),
	};
	struct policy_client_out co[2];
	struct policy_in in;
	struct policy_out out;

	in_init(&in, CGFS_NO_LIMIT, GIB, 0, c, 2);
	in.prev.sample_ns = SEC;
	in.prev.some_total_us = 0;
	in.s.psi.some.total_us = 300000; /* 30% of 1 s */
	ck_assert_int_eq(policy_eval(&in, 2 * SEC, &out, co), 2);
	ck_assert_uint_eq(out.urgency, MR_PROTO_URGENCY_NOW);
	ck_assert_uint_eq(co[0].trim_bytes, 64 * MIB);
	ck_assert_uint_eq(co[1].trim_bytes, 32 * MIB);
	/* no limit: no soft limits */
	ck_assert_uint_eq(co[0].limit_bytes, POLICY_LIMIT_KEEP);
	/* full pressure alone is urgent too */
	in.s.psi.some.total_us = 0;
	in.s.psi.some.avg10 = 0;
	in.s.psi.full.avg10 = 6.0;
	ck_assert_int_eq(policy_eval(&in, 2 * SEC, &out, co), 2);
	ck_assert_uint_eq(out.urgency, MR_PROTO_URGENCY_NOW);
	/* mild pressure: a proportional, lazy slice (at least 10%) */
	in.s.psi.full.avg10 = 0;
	in.s.psi.some.total_us = 6000; /* 0.6%: just over 0.5 */
	ck_assert_int_eq(policy_eval(&in, 2 * SEC, &out, co), 1);
	ck_assert_uint_eq(co[0].trim_bytes, out.want_bytes); /* most idle */
	ck_assert_uint_eq(out.urgency, MR_PROTO_URGENCY_LAZY);
	ck_assert_uint_eq(out.want_bytes, (uint64_t)((double)(96 * MIB) * 0.1));
	/* first sample: avg10 stands in for the interval */
	in.prev.sample_ns = 0;
	in.s.psi.some.avg10 = 0.4;
	ck_assert_int_eq(policy_eval(&in, 2 * SEC, &out, co), 0);
	ck_assert_double_eq_tol(out.stall_pct, 0.4, 1e-9);
}
END_TEST

/* A sequence: act, cool down, act again; trims that bring nothing back
 * double the cooldown up to the ceiling; one that works resets it. */
START_TEST(test_policy_cooldown_and_backoff_sequence)
{
	struct policy_client c[1] = {cl(1, 0, 200 * MIB, 900 * MIB, 0)};
	struct policy_client_out co[1];
	struct policy_in in;
	struct policy_out out;
	uint64_t t = 100 * SEC;
	int i;

	cfg.cooldown_ms = 5000;
	cfg.max_cooldown_ms = 20000;
	in_init(&in, GIB, 1000 * MIB, 0, c, 1);
	ck_assert_int_eq(policy_eval(&in, t, &out, co), 1);
	ck_assert_uint_eq(out.next.cooldown_ms, 5000);
	in.prev = out.next;
	/* 1 s later: still excess, but cooling down */
	ck_assert_int_eq(policy_eval(&in, t + SEC, &out, co), 0);
	ck_assert_int_eq(out.reason, POLICY_COOLDOWN);
	ck_assert_uint_eq(co[0].trim_bytes, 0);
	/* the client answered with nothing: each action backs off */
	{
		static const uint32_t want[] = {10000, 20000, 20000};

		for (i = 0; i < 3; i++) {
			in.released_since_action = 0;
			t += (uint64_t)in.prev.cooldown_ms * 1000000ull;
			ck_assert_int_eq(policy_eval(&in, t, &out, co), 1);
			ck_assert_uint_eq(out.next.cooldown_ms, want[i]);
			in.prev = out.next;
			/* half-way through the longer cooldown: quiet */
			ck_assert_int_eq(
			    policy_eval(&in, t + (uint64_t)want[i] * 500000ull,
					&out, co),
			    0);
			ck_assert_int_eq(out.reason, POLICY_COOLDOWN);
		}
	}
	/* a trim that worked resets the cooldown */
	in.released_since_action = in.prev.last_asked;
	t += (uint64_t)in.prev.cooldown_ms * 1000000ull;
	ck_assert_int_eq(policy_eval(&in, t, &out, co), 1);
	ck_assert_uint_eq(out.next.cooldown_ms, 5000);
}
END_TEST

START_TEST(test_policy_pending_trims_are_not_asked_twice)
{
	struct policy_client c[1] = {cl(1, 0, 100 * MIB, 900 * MIB, 0)};
	struct policy_client_out co[1];
	struct policy_in in;
	struct policy_out out;

	cfg.cooldown_ms = 0;
	in_init(&in, GIB, 1000 * MIB, 0, c, 1);
	ck_assert_int_eq(policy_eval(&in, SEC, &out, co), 1);
	c[0].pending_bytes = co[0].trim_bytes;
	in.prev = out.next;
	/* same excess, the first request still unanswered: ask nothing */
	ck_assert_int_eq(policy_eval(&in, 2 * SEC, &out, co), 0);
	ck_assert_uint_eq(out.want_bytes, 0);
	ck_assert_int_eq(out.reason, POLICY_IDLE);
}
END_TEST

START_TEST(test_policy_nothing_idle_and_unwatched)
{
	struct policy_client c[2] = {
	    cl(1, 0, 0, 900 * MIB, 900 * MIB),
	    cl(2, 0, 512 * 1024, 10 * MIB, 0), /* under min_trim */
	};
	struct policy_client_out co[2];
	struct policy_in in;
	struct policy_out out;

	in_init(&in, GIB, 1000 * MIB, 0, c, 2);
	ck_assert_int_eq(policy_eval(&in, SEC, &out, co), 0);
	ck_assert_int_eq(out.reason, POLICY_NOTHING_IDLE);
	ck_assert_uint_eq(out.next.last_action_ns, 0);
	/* in_use floors the soft limit */
	ck_assert_uint_ge(co[0].limit_bytes, 900 * MIB);
	c[0].idle_bytes = 100 * MIB;
	cfg.watch = 0;
	ck_assert_int_eq(policy_eval(&in, SEC, &out, co), 0);
	ck_assert_uint_eq(co[0].trim_bytes, 0);
	/* watch = no: no soft limits either */
	ck_assert_uint_eq(co[0].limit_bytes, POLICY_LIMIT_KEEP);
	ck_assert_uint_eq(co[1].limit_bytes, POLICY_LIMIT_KEEP);
}
END_TEST

START_TEST(test_policy_soft_limit_hysteresis_and_lifting)
{
	struct policy_client c[2] = {
	    cl(1, 0, 0, 300 * MIB, 0),
	    cl(2, 0, 0, 100 * MIB, 0),
	};
	struct policy_client_out co[2];
	struct policy_in in;
	struct policy_out out;

	/* L 1 GiB, H 102.4 MiB, W = 400 MiB all clients': budget split 3:1 */
	in_init(&in, GIB, 400 * MIB, 0, c, 2);
	policy_eval(&in, SEC, &out, co);
	ck_assert_uint_eq(co[0].limit_bytes + co[1].limit_bytes,
			  GIB - GIB / 10);
	ck_assert_uint_eq(co[0].limit_bytes / 3 / MIB, co[1].limit_bytes / MIB);
	/* already sent, within 5%: no new LIMIT */
	c[0].limit_sent = co[0].limit_bytes + MIB / 2;
	c[1].limit_sent = co[1].limit_bytes;
	policy_eval(&in, 2 * SEC, &out, co);
	ck_assert_uint_eq(co[0].limit_bytes, POLICY_LIMIT_KEEP);
	ck_assert_uint_eq(co[1].limit_bytes, POLICY_LIMIT_KEEP);
	/* limit removed: lift what we set */
	in.s.limit_bytes = CGFS_NO_LIMIT;
	policy_eval(&in, 3 * SEC, &out, co);
	ck_assert_uint_eq(co[0].limit_bytes, 0);
	ck_assert_uint_eq(co[1].limit_bytes, 0);
	/* soft_limits = no: never set */
	cfg.soft_limits = 0;
	c[0].limit_sent = c[1].limit_sent = 0;
	in.s.limit_bytes = GIB;
	policy_eval(&in, 4 * SEC, &out, co);
	ck_assert_uint_eq(co[0].limit_bytes, POLICY_LIMIT_KEEP);
}
END_TEST

/* The one client order (policy_before), which operator trims use too:
 * -1000 last whatever else, then oom_score_adj, then idle bytes not yet
 * asked for, then pid; with order = idle, oom_score_adj is ignored. */
/* Memory outside the library fills the cgroup: the client budget is 0.
 * The old law sent LIMIT = in use (300 MiB) and 1 byte to a client with
 * nothing in use; a limit must leave in use + max(in_use/8, 16 MiB). */
START_TEST(test_policy_soft_limit_never_below_in_use_plus_margin)
{
	struct policy_client c[2] = {
	    cl(1, 0, 0, 300 * MIB, 300 * MIB),
	    cl(2, 0, 0, 0, 0),
	};
	struct policy_client_out co[2];
	struct policy_in in;
	struct policy_out out;

	/* 1 GiB limit, 1000 MiB used, only 300 of it the clients' */
	in_init(&in, GIB, 1000 * MIB, 0, c, 2);
	ck_assert_int_ge(policy_eval(&in, SEC, &out, co), 0);
	ck_assert_uint_eq(co[0].limit_bytes, 300 * MIB + 300 * MIB / 8);
	ck_assert_uint_eq(co[1].limit_bytes, POLICY_LIMIT_MARGIN_MIN);
	/* a small heap gets the 16 MiB floor of margin */
	c[0].in_use_bytes = c[0].retained_bytes = 40 * MIB;
	ck_assert_int_ge(policy_eval(&in, SEC, &out, co), 0);
	ck_assert_uint_eq(co[0].limit_bytes, 56 * MIB);
	ck_assert_uint_eq(policy_limit_floor(UINT64_MAX), UINT64_MAX);
	ck_assert_uint_eq(policy_limit_floor(0), 16 * MIB);
}
END_TEST

/* One client reporting 2^62 retained must not move its neighbour's
 * limit: it weighs what the daemon sees it hold (/proc RSS, and at most
 * the cgroup's usage).  The old law dropped B from 512 MiB to its
 * in-use floor. */
START_TEST(test_policy_lying_client_cannot_push_neighbour_down)
{
	struct policy_client honest[2] = {
	    cl(1, 0, 100 * MIB, 400 * MIB, 300 * MIB),
	    cl(2, 0, 50 * MIB, 400 * MIB, 100 * MIB),
	};
	struct policy_client liar[2];
	struct policy_client_out co_h[2], co_l[2];
	struct policy_in in;
	struct policy_out out;

	honest[0].proc_rss_bytes = 400 * MIB;
	liar[0] = honest[0];
	liar[1] = honest[1];
	liar[0].retained_bytes = 1ull << 62;
	liar[0].idle_bytes = 1ull << 62;
	liar[0].in_use_bytes = 1ull << 61;
	liar[0].lazy_freed_bytes = 1ull << 62;
	in_init(&in, 2 * GIB, 900 * MIB, 0, honest, 2);
	ck_assert_int_ge(policy_eval(&in, SEC, &out, co_h), 0);
	in.clients = liar;
	ck_assert_int_ge(policy_eval(&in, SEC, &out, co_l), 0);
	ck_assert_uint_ne(co_h[1].limit_bytes, POLICY_LIMIT_KEEP);
	/* its claims are cut to its 400 MiB: B keeps at least its share */
	ck_assert_uint_ge(co_l[1].limit_bytes, co_h[1].limit_bytes);
	ck_assert_uint_gt(co_l[1].limit_bytes, 800 * MIB);
	/* the liar's in-use is bounded too: its floor is not 2^61 */
	ck_assert_uint_le(co_l[0].limit_bytes, 2 * GIB);
	/* its lazily freed claim is bounded by what it holds */
	ck_assert_uint_le(out.lazy_freed_bytes, 400 * MIB);
}
END_TEST

/* Figures near 2^64: sums saturate, nothing wraps to a small number,
 * and fractions are defined (policy_scale, not (uint64_t)(double)). */
START_TEST(test_policy_sums_saturate_and_fractions_are_defined)
{
	struct policy_client c[3];
	struct policy_client_out co[3];
	struct policy_in in;
	struct policy_out out;
	uint64_t total = 0;
	int i;

	ck_assert_uint_eq(policy_scale(UINT64_MAX, 1.0), UINT64_MAX);
	ck_assert_uint_eq(policy_scale(UINT64_MAX, 2.0), UINT64_MAX);
	ck_assert_uint_eq(policy_scale(UINT64_MAX, 0.0), 0);
	ck_assert_uint_eq(policy_scale(UINT64_MAX, -1.0), 0);
	ck_assert_uint_eq(policy_scale(UINT64_MAX, __builtin_nan("")), 0);
	ck_assert_uint_eq(policy_scale(1ull << 40, 0.5), 1ull << 39);
	ck_assert_uint_le(policy_scale(UINT64_MAX, 0.999999999), UINT64_MAX);
	ck_assert_uint_gt(policy_scale(UINT64_MAX, 0.5), (1ull << 63) - GIB);
	for (i = 0; i < 3; i++) {
		c[i] = cl(i + 1, 0, UINT64_MAX, UINT64_MAX, 0);
		c[i].pending_bytes = UINT64_MAX / 2;
	}
	/* usage and limit just under "unlimited": strong pressure too */
	in_init(&in, (1ull << 62) - 1, (1ull << 62) - 2, 0, c, 3);
	in.s.psi.some.avg10 = 50.0;
	ck_assert_int_ge(policy_eval(&in, SEC, &out, co), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_uint_le(co[i].trim_bytes, in.s.usage_bytes);
		total += co[i].trim_bytes;
		ck_assert_uint_ge(total, co[i].trim_bytes); /* no wrap */
		if (co[i].limit_bytes != POLICY_LIMIT_KEEP)
			ck_assert_uint_ge(co[i].limit_bytes,
					  POLICY_LIMIT_MARGIN_MIN);
	}
	ck_assert_uint_le(out.want_bytes, in.s.usage_bytes);
	ck_assert_uint_le(out.working_set_bytes, in.s.usage_bytes);
}
END_TEST

/* Lazily freed bytes are the kernel's to take: they leave the working
 * set, so a cgroup whose clients hold them is asked for less.  Counted
 * once: they may already be in inactive_file. */
START_TEST(test_policy_lazy_freed_counts_as_reclaimable)
{
	struct policy_client c[1] = {cl(1, 0, 200 * MIB, 600 * MIB, 300 * MIB)};
	struct policy_client_out co[1];
	struct policy_in in;
	struct policy_out out;

	/* 1 GiB, headroom 102.4 MiB, usage 980 MiB: 58.4 MiB over */
	in_init(&in, GIB, 980 * MIB, 0, c, 1);
	ck_assert_int_eq(policy_eval(&in, SEC, &out, co), 1);
	ck_assert_uint_eq(co[0].trim_bytes, 980 * MIB + GIB / 10 - GIB);
	/* 40 MiB of it lazily freed: only 18.4 MiB more is asked */
	c[0].lazy_freed_bytes = 40 * MIB;
	ck_assert_int_eq(policy_eval(&in, SEC, &out, co), 1);
	ck_assert_uint_eq(out.lazy_freed_bytes, 40 * MIB);
	ck_assert_uint_eq(out.working_set_bytes, 940 * MIB);
	ck_assert_uint_eq(co[0].trim_bytes, 940 * MIB + GIB / 10 - GIB);
	/* 100 MiB lazily freed: nothing to ask */
	c[0].lazy_freed_bytes = 100 * MIB;
	ck_assert_int_eq(policy_eval(&in, SEC, &out, co), 0);
	ck_assert_uint_eq(co[0].trim_bytes, 0);
	/* inactive_file that already holds them: max, not sum */
	c[0].lazy_freed_bytes = 40 * MIB;
	in.s.inactive_file_bytes = 30 * MIB;
	ck_assert_int_eq(policy_eval(&in, SEC, &out, co), 1);
	ck_assert_uint_eq(out.working_set_bytes, 940 * MIB);
}
END_TEST

/* Near-OOM (usage within near_oom_margin of the limit, or max/oom events
 * going up): NOW, and the cooldown does not hold it back. */
START_TEST(test_policy_near_oom_is_urgent_through_cooldown)
{
	struct policy_client c[1] = {cl(1, 0, 200 * MIB, 600 * MIB, 300 * MIB)};
	struct policy_client_out co[1];
	struct policy_in in;
	struct policy_out out;

	/* far from the limit but in the headroom: LAZY, then cooldown */
	in_init(&in, GIB, 940 * MIB, 0, c, 1);
	ck_assert_int_eq(policy_eval(&in, SEC, &out, co), 1);
	ck_assert_uint_eq(co[0].urgency, MR_PROTO_URGENCY_LAZY);
	ck_assert_int_eq(out.near_oom, 0);
	in.prev = out.next;
	in.released_since_action = out.shed_bytes;
	in.s.usage_bytes = 945 * MIB;
	ck_assert_int_eq(policy_eval(&in, SEC + SEC / 10, &out, co), 0);
	ck_assert_int_eq(out.reason, POLICY_COOLDOWN);
	/* usage 10 MiB under the limit: near-OOM, NOW, within cooldown */
	in.s.usage_bytes = GIB - 10 * MIB;
	ck_assert_int_eq(policy_eval(&in, SEC + SEC / 5, &out, co), 1);
	ck_assert_int_eq(out.near_oom, 1);
	ck_assert_int_eq(out.reason, POLICY_NEAR_OOM);
	ck_assert_uint_eq(co[0].urgency, MR_PROTO_URGENCY_NOW);
	ck_assert_uint_ge(co[0].trim_bytes, 10 * MIB);
	/* v1 failcnt / v2 "max" going up, usage lower: near-OOM too */
	in.prev = out.next;
	in.s.usage_bytes = 945 * MIB;
	in.s.max_events = in.prev.max_events + 3;
	ck_assert_int_eq(policy_eval(&in, SEC + SEC / 4, &out, co), 1);
	ck_assert_int_eq(out.near_oom, 1);
	ck_assert_uint_eq(co[0].urgency, MR_PROTO_URGENCY_NOW);
	/* unchanged counters: back to the ordinary law (cooldown) */
	in.prev = out.next;
	ck_assert_int_eq(policy_eval(&in, SEC + SEC / 3, &out, co), 0);
	ck_assert_int_eq(out.near_oom, 0);
	ck_assert_int_eq(out.reason, POLICY_COOLDOWN);
	/* a v1 cgroup full of page cache at its limit, hitting it: fine */
	in.prev = out.next;
	in.prev.last_action_ns = 0;
	in.s.usage_bytes = GIB - MIB;
	in.s.inactive_file_bytes = 600 * MIB;
	in.s.max_events = in.prev.max_events + 100;
	ck_assert_int_eq(policy_eval(&in, 10 * SEC, &out, co), 0);
	ck_assert_int_eq(out.near_oom, 0);
	ck_assert_uint_eq(co[0].trim_bytes, 0);
}
END_TEST

START_TEST(test_policy_before_is_the_one_total_order)
{
	struct policy_client unkillable = {.pid = 1,
					   .oom_score_adj = -1000,
					   .has_stats = 1,
					   .idle_bytes = 900 << 20};
	struct policy_client low = {.pid = 2,
				    .oom_score_adj = 0,
				    .has_stats = 1,
				    .idle_bytes = 500 << 20};
	struct policy_client high = {.pid = 3,
				     .oom_score_adj = 500,
				     .has_stats = 1,
				     .idle_bytes = 1 << 20};
	struct policy_client high_idle = high, twin = high;

	high_idle.pid = 4;
	high_idle.idle_bytes = 2 << 20;
	twin.pid = 5;
	ck_assert(policy_before(&low, &unkillable, CONF_ORDER_OOM));
	ck_assert(!policy_before(&unkillable, &low, CONF_ORDER_OOM));
	ck_assert(policy_before(&low, &unkillable, CONF_ORDER_IDLE));
	ck_assert(policy_before(&high, &low, CONF_ORDER_OOM));
	ck_assert(policy_before(&low, &high, CONF_ORDER_IDLE));
	/* same oom_score_adj: more idle first; then the lower pid */
	ck_assert(policy_before(&high_idle, &high, CONF_ORDER_OOM));
	ck_assert(policy_before(&high, &twin, CONF_ORDER_OOM));
	ck_assert(!policy_before(&twin, &high, CONF_ORDER_OOM));
	/* what is already asked for does not count as idle */
	high_idle.pending_bytes = 2 << 20;
	ck_assert(policy_before(&high, &high_idle, CONF_ORDER_OOM));
}
END_TEST

/* The documented headroom: H = max(headroom_min, L * headroom_percent /
 * 100), at most L / 2; none without a limit.  Figures worked out here. */
START_TEST(test_policy_headroom_rule)
{
	cfg.headroom_percent = 10;
	cfg.headroom_min_bytes = 64 * MIB;
	/* 10% of 1 GiB = 102.4 MiB, over the minimum */
	ck_assert_uint_eq(policy_headroom(&cfg, GIB), GIB / 10);
	/* 10% of 256 MiB = 25.6 MiB: the minimum, 64 MiB, wins */
	ck_assert_uint_eq(policy_headroom(&cfg, 256 * MIB), 64 * MIB);
	/* 100 MiB: the minimum would be 64 MiB, half the limit is 50 */
	ck_assert_uint_eq(policy_headroom(&cfg, 100 * MIB), 50 * MIB);
	cfg.headroom_percent = 80;
	ck_assert_uint_eq(policy_headroom(&cfg, GIB), GIB / 2);
	ck_assert_uint_eq(policy_headroom(&cfg, CGFS_NO_LIMIT), 0);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_policy_idle_when_no_limit_no_pressure);
	tcase_add_test(tc, test_policy_pressure_acts_only_above_target);
	tcase_add_test(tc, test_policy_headroom_rule);
	tcase_add_test(tc, test_policy_worked_example);
	tcase_add_test(tc, test_policy_psi_missing_round);
	tcase_add_test(
	    tc, test_policy_limit_excess_highest_adj_first_minus1000_last);
	tcase_add_test(tc, test_policy_order_idle);
	tcase_add_test(tc, test_policy_urgent_pressure_asks_everything_now);
	tcase_add_test(tc, test_policy_cooldown_and_backoff_sequence);
	tcase_add_test(tc, test_policy_pending_trims_are_not_asked_twice);
	tcase_add_test(tc, test_policy_nothing_idle_and_unwatched);
	tcase_add_test(tc, test_policy_soft_limit_hysteresis_and_lifting);
	tcase_add_test(tc, test_policy_before_is_the_one_total_order);
	tcase_add_test(tc,
		       test_policy_soft_limit_never_below_in_use_plus_margin);
	tcase_add_test(tc, test_policy_lying_client_cannot_push_neighbour_down);
	tcase_add_test(tc,
		       test_policy_sums_saturate_and_fractions_are_defined);
	tcase_add_test(tc, test_policy_lazy_freed_counts_as_reclaimable);
	tcase_add_test(tc, test_policy_near_oom_is_urgent_through_cooldown);
	suite_add_tcase(s, tc);
	return s;
}
