/*
 * policy.c: how much memory a cgroup should shed, and who gives it.
 *
 * The control law
 * ---------------
 * memreclaimd can only take back memory the clients' allocators hold but
 * do not use ("idle" bytes: free pages still backed by RAM).  Giving those
 * back costs a client almost nothing now and a page fault later if it
 * grows again, so the law is built to ask early, ask in proportion, and
 * stop asking when asking does not help.  It is in the spirit of Senpai
 * (Facebook's userspace reclaimer): a small stall target, a step
 * proportional to the error, and fast back-off.
 *
 * Two signals, each turned into bytes to shed:
 *
 *   limit:    the working set W = usage - reclaimable should stay below
 *             the limit L by a headroom H that scales with the container.
 *             Reclaimable is what the kernel takes on demand without
 *             anyone's help: inactive page cache, and the bytes the
 *             clients lazily freed (MADV_FREE; the kernel takes them
 *             before it would OOM-kill).  The kernel files lazily freed
 *             pages on the inactive file list, so they may already be in
 *             inactive_file: reclaimable = max(inactive_file, lazy sum),
 *             never the sum, so nothing is counted twice (on these v1
 *             machines a 100 MiB MADV_FREE moved 100 MiB from
 *             inactive_anon to inactive_file in memory.stat; the clients'
 *             figure matters where the kernel's lags behind its per-CPU
 *             batches, or files them elsewhere).  A cgroup whose clients
 *             hold lazily freed memory is asked for less.  A client's
 *             claim is bounded like its other figures (below).
 *             H = max(headroom_min, L * headroom_percent / 100), at most
 *             L/2.  excess = max(0, W - (L - H)).
 *   pressure: the share of time some task stalled on memory over the last
 *             interval, p = delta(some total) / delta(time) (avg10 for the
 *             first sample).  Below pressure_target nothing happens.
 *             Between target and pressure_urgent the clients are asked for
 *             frac = (p - target) / (urgent - target) of their idle bytes,
 *             at least 10% and at most all of it.
 *
 * want = max(excess, pressure share) - bytes already asked and not yet
 * answered (we never ask twice for the same bytes: the law does not fight
 * itself).  Requests under min_trim are not worth a message.
 *
 * Urgency is LAZY (MADV_FREE: cheap, the kernel takes the pages when it
 * needs them) unless p >= pressure_urgent, full avg10 >= full_urgent, or W
 * is within half the headroom of the limit: then NOW (MADV_DONTNEED).
 *
 * Near-OOM: the working set within near_oom_margin of L, or OOMs counted
 * since the last sample (v2 memory.events "oom", v1 oom_kill), or limit
 * hits counted (v2 "max", v1 memory.failcnt) while W is inside the
 * headroom.  Not usage: a v1 cgroup full of page cache sits at its limit
 * and hits it constantly, in no danger at all.  Then the request is NOW and the cooldown does not hold it
 * back: without swap the next step is the OOM killer, within a few
 * hundred milliseconds.  Trims already asked and not answered are still
 * not asked twice.
 *
 * Cooldown: after acting, a cgroup is left alone for cooldown_ms so the
 * kernel and PSI can show the effect.  Back-off: if the trims of the last
 * action brought back less than a quarter of what was asked, the cooldown
 * doubles, up to max_cooldown_ms; an action that worked resets it.
 *
 * Who gives: clients ordered by oom_score_adj, highest first (the most
 * expendable, by the operator's own ranking), ties broken by the most idle
 * bytes; with order = idle, by idle bytes alone.  Clients at -1000 (never
 * to be OOM-killed) always come last.  Each gives at most its idle bytes
 * minus what it was already asked.
 *
 * Soft limits: the container's budget B = L - H is split among the
 * clients.  Memory not held by them (W - their retained bytes) is taken
 * off first; the rest is divided in proportion to each client's retained
 * bytes, but never below its floor: in_use + max(in_use / 8, 16 MiB).
 * A limit under the live heap only makes the client thrash (or, with
 * MEMRECLAIM_LIMIT_HARD, fail every allocation) while memory it does not
 * own fills the cgroup; the margin leaves it room for its churn, and 16
 * MiB keeps a client that reports 0 in use working.  So the limits add
 * up to the client budget only while the budget covers every floor.  A
 * LIMIT is sent when a value moves by more than 5% (and 1 MiB), so small
 * drifts do not chatter.
 *
 * Untrusted reports: clients are peers, not trusted.  Before anything
 * else each client's figures are clamped (policy_clamp): retained to the
 * cgroup's usage and to the resident size the daemon read itself from
 * /proc, and idle, in-use and lazily freed to retained.  One client
 * claiming 2^62 retained bytes then weighs what it really holds and
 * cannot push a neighbour's limit down.  Every sum saturates at
 * UINT64_MAX, and fractions of byte counts are taken in fixed point
 * (policy_scale), never through (uint64_t)(double), which is undefined
 * at 2^64.
 *
 * A worked example
 * ----------------
 * L = 1 GiB, headroom_percent 10: H = 102.4 MiB, B = 921.6 MiB.
 * usage 980 MiB, inactive_file 20 MiB: W = 960 MiB, excess = 38.4 MiB.
 * some total went up 60 ms in 2 s: p = 3%; target 0.5, urgent 10:
 * frac = 2.5 / 9.5 = 0.263.
 * Clients: A adj 500 idle 30 MiB, B adj 0 idle 100 MiB, C adj -1000 idle
 * 200 MiB: idle 330 MiB, pressure share = 86.8 MiB > excess, so want =
 * 86.8 MiB, LAZY (p < 10, W + H/2 = 1011.2 MiB < L).
 * A is asked for its 30 MiB, B for 56.8 MiB, C for nothing.
 * Soft limits with retained A 200, B 400, C 300 MiB (900 MiB): others =
 * 960 - 900 = 60 MiB, client budget 861.6 MiB: A 191.5, B 382.9, C 287.2
 * (all above their floors when in use is at most 150, 340, 250 MiB).
 * If a neighbour outside the library then fills the cgroup so that the
 * client budget is 0, each gets its floor: B with 300 MiB in use gets
 * 300 + 37.5 = 337.5 MiB, a client with 0 in use gets 16 MiB.
 * The cgroup then cools down for 5 s.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <memreclaim/protocol.h>

#include "policy.h"
#include "psi.h"

#define MIB (1ull << 20)

struct policy_sort {
	const struct policy_client *c;
	int order;
};

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t
policy_scale(uint64_t x, double frac)
{
	uint64_t f;

	if (!(frac > 0.0)) /* also NaN */
		return 0;
	if (frac >= 1.0)
		return x;
	/* 32.32 fixed point: frac * 2^32 < 2^32, exact enough for bytes */
	f = (uint64_t)(frac * 4294967296.0);
	return (uint64_t)(((unsigned __int128)x * f) >> 32);
}

uint64_t
policy_limit_floor(uint64_t in_use)
{
	uint64_t m = in_use / 8;

	if (m < POLICY_LIMIT_MARGIN_MIN)
		m = POLICY_LIMIT_MARGIN_MIN;
	return sat_add(in_use, m);
}

void
policy_clamp(const struct policy_client *c, uint64_t usage,
	     struct policy_client *out)
{
	uint64_t cap = usage;

	*out = *c;
	if (c->proc_rss_bytes != 0 && c->proc_rss_bytes < cap)
		cap = c->proc_rss_bytes;
	if (out->retained_bytes > cap)
		out->retained_bytes = cap;
	if (out->idle_bytes > out->retained_bytes)
		out->idle_bytes = out->retained_bytes;
	if (out->in_use_bytes > out->retained_bytes)
		out->in_use_bytes = out->retained_bytes;
	if (out->lazy_freed_bytes > out->retained_bytes)
		out->lazy_freed_bytes = out->retained_bytes;
}

static uint64_t
policy_avail(const struct policy_client *c)
{
	if (!c->has_stats || c->idle_bytes <= c->pending_bytes)
		return 0;
	return c->idle_bytes - c->pending_bytes;
}

/* The one client order of memreclaimd (see policy.h).  Callers sort with
 * insertion sort on an index array: clients per cgroup are few, and this
 * must not depend on libc's sort stability. */
int
policy_before(const struct policy_client *a, const struct policy_client *b,
	      int order)
{
	int a_last = a->oom_score_adj == -1000,
	    b_last = b->oom_score_adj == -1000;

	if (a_last != b_last)
		return b_last;
	if (order == CONF_ORDER_OOM && a->oom_score_adj != b->oom_score_adj)
		return a->oom_score_adj > b->oom_score_adj;
	if (policy_avail(a) != policy_avail(b))
		return policy_avail(a) > policy_avail(b);
	return a->pid < b->pid;
}

uint64_t
policy_headroom(const struct conf_cg *cfg, uint64_t limit)
{
	uint64_t h;

	if (limit == CGFS_NO_LIMIT)
		return 0;
	h = policy_scale(limit, cfg->headroom_percent / 100.0);
	if (h < cfg->headroom_min_bytes)
		h = cfg->headroom_min_bytes;
	if (h > limit / 2)
		h = limit / 2;
	return h;
}

static void
policy_limits(const struct policy_in *in, const struct policy_client *cls,
	      const struct policy_out *out, struct policy_client_out *cout)
{
	uint64_t limit = in->s.limit_bytes, budget, others, cbudget;
	uint64_t sum = 0, cum = 0, given = 0;
	int i;

	if (limit == CGFS_NO_LIMIT || !in->cfg->soft_limits) {
		/* lift limits we set before */
		for (i = 0; i < in->nclients; i++)
			if (in->clients[i].limit_sent != 0)
				cout[i].limit_bytes = 0;
		return;
	}
	for (i = 0; i < in->nclients; i++)
		if (cls[i].has_stats)
			sum = sat_add(sum, cls[i].retained_bytes);
	if (sum == 0)
		return;
	budget = limit - out->headroom_bytes; /* headroom <= limit / 2 */
	others =
	    out->working_set_bytes > sum ? out->working_set_bytes - sum : 0;
	cbudget = budget > others ? budget - others : 0;
	for (i = 0; i < in->nclients; i++) {
		const struct policy_client *c = &cls[i];
		uint64_t lim, old = c->limit_sent, diff, slack, floor;

		if (!c->has_stats)
			continue;
		/* cumulative rounding: the shares add up to cbudget exactly
		 * (cum <= sum, saturated alike, so the quotient fits) */
		cum = sat_add(cum, c->retained_bytes);
		lim =
		    (uint64_t)((unsigned __int128)cbudget * cum / sum) - given;
		given += lim;
		floor = policy_limit_floor(c->in_use_bytes);
		if (lim < floor)
			lim = floor; /* never under in use + margin, never 0 */
		diff = lim > old ? lim - old : old - lim;
		slack = lim / 20 > MIB ? lim / 20 : MIB;
		if (old == 0 || diff > slack)
			cout[i].limit_bytes = lim;
	}
}

int
policy_eval(const struct policy_in *in, uint64_t now_ns, struct policy_out *out,
	    struct policy_client_out *cout)
{
	const struct conf_cg *cfg = in->cfg;
	const struct cgfs_sample *s = &in->s;
	struct policy_sort *ord;
	struct policy_client *cls;
	uint64_t limit = s->limit_bytes, excess = 0, idle = 0, pending = 0;
	uint64_t want, left, ws, lazy = 0, reclaimable;
	double p, frac;
	int i, j, n = in->nclients, asked = 0, near_oom = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		cout[i].trim_bytes = 0;
		cout[i].urgency = 0;
		cout[i].limit_bytes = POLICY_LIMIT_KEEP;
	}
	out->next = in->prev;
	out->next.sample_ns = now_ns;
	out->next.some_total_us = in->psi_valid ? s->psi.some.total_us : 0;
	out->next.psi_missing = !in->psi_valid;
	if (out->next.cooldown_ms == 0)
		out->next.cooldown_ms = cfg->cooldown_ms;

	out->next.max_events = s->max_events;
	out->next.oom_events = s->oom_events;

	/* untrusted reports, bounded first: everything below reads cls */
	cls = malloc(sizeof(*cls) * (size_t)(n > 0 ? n : 1));
	if (cls == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		policy_clamp(&in->clients[i], s->usage_bytes, &cls[i]);
		if (cls[i].has_stats)
			lazy = sat_add(lazy, cls[i].lazy_freed_bytes);
	}
	if (lazy > s->usage_bytes)
		lazy = s->usage_bytes;
	out->lazy_freed_bytes = lazy;
	reclaimable = s->inactive_file_bytes > lazy ? s->inactive_file_bytes
						    : lazy;
	ws = s->usage_bytes -
	     (reclaimable < s->usage_bytes ? reclaimable : s->usage_bytes);
	out->working_set_bytes = ws;
	out->headroom_bytes = policy_headroom(cfg, limit);
	if (limit != CGFS_NO_LIMIT && sat_add(ws, out->headroom_bytes) > limit)
		excess = sat_add(ws, out->headroom_bytes) - limit;

	/* near-OOM: a v1 cgroup full of page cache sits at its limit and
	 * hits it all the time (failcnt, v2 "max") without any danger, so
	 * the usage test is on the working set, and limit hits count only
	 * with the working set inside the headroom */
	if (limit != CGFS_NO_LIMIT &&
	    sat_add(ws, cfg->near_oom_margin_bytes) >= limit)
		near_oom = 1;
	if (in->prev.sample_ns != 0 &&
	    ((s->max_events > in->prev.max_events && excess > 0) ||
	     s->oom_events > in->prev.oom_events))
		near_oom = 1;
	out->near_oom = near_oom;

	p = 0.0;
	if (in->psi_valid) {
		/* a round without PSI (an unreadable file) leaves no total
		 * to subtract: the next would count all stall since boot */
		if (in->prev.sample_ns != 0 && !in->prev.psi_missing &&
		    now_ns > in->prev.sample_ns &&
		    s->psi.some.total_us >= in->prev.some_total_us)
			p = psi_stall_pct(in->prev.some_total_us,
					  s->psi.some.total_us,
					  (now_ns - in->prev.sample_ns) / 1000);
		else
			p = s->psi.some.avg10;
	}
	out->stall_pct = p;

	for (i = 0; i < n; i++) {
		idle = sat_add(idle, policy_avail(&cls[i]));
		pending = sat_add(pending, cls[i].pending_bytes);
	}
	want = excess;
	out->reason = POLICY_LIMIT;
	if (p > cfg->pressure_target) {
		double span = cfg->pressure_urgent - cfg->pressure_target;
		uint64_t share;

		frac = span > 0 ? (p - cfg->pressure_target) / span : 1.0;
		if (frac < 0.1)
			frac = 0.1;
		if (frac > 1.0)
			frac = 1.0;
		share = policy_scale(idle, frac);
		if (share > want) {
			want = share;
			out->reason = POLICY_PRESSURE;
		}
	}
	if (in->psi_valid && s->psi.has_full &&
	    s->psi.full.avg10 >= cfg->full_urgent && idle > want) {
		want = idle;
		out->reason = POLICY_PRESSURE;
	}
	if (near_oom && want < excess)
		want = excess;
	if (near_oom)
		out->reason = POLICY_NEAR_OOM;
	want = want > pending ? want - pending : 0;
	out->want_bytes = want;

	if (!cfg->watch) {
		/* never act on it: no trims, no limits */
		out->reason = POLICY_IDLE;
		out->near_oom = 0;
		free(cls);
		return 0;
	}
	policy_limits(in, cls, out, cout);

	if (want < cfg->min_trim_bytes || want == 0) {
		out->reason = POLICY_IDLE;
		free(cls);
		return 0;
	}
	if (!near_oom && in->prev.last_action_ns != 0 &&
	    now_ns - in->prev.last_action_ns <
		(uint64_t)out->next.cooldown_ms * 1000000ull) {
		out->reason = POLICY_COOLDOWN;
		free(cls);
		return 0;
	}
	if (idle < cfg->min_trim_bytes) {
		out->reason = POLICY_NOTHING_IDLE;
		free(cls);
		return 0;
	}

	out->urgency = MR_PROTO_URGENCY_LAZY;
	if (near_oom || p >= cfg->pressure_urgent ||
	    (in->psi_valid && s->psi.has_full &&
	     s->psi.full.avg10 >= cfg->full_urgent) ||
	    (limit != CGFS_NO_LIMIT && ws + out->headroom_bytes / 2 > limit))
		out->urgency = MR_PROTO_URGENCY_NOW;

	ord = malloc(sizeof(*ord) * (size_t)n);
	if (ord == NULL) {
		free(cls);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct policy_sort t = {&cls[i], i};

		for (j = i;
		     j > 0 && policy_before(t.c, ord[j - 1].c, cfg->order); j--)
			ord[j] = ord[j - 1];
		ord[j] = t;
	}
	left = want;
	for (i = 0; i < n && left > 0; i++) {
		uint64_t give = policy_avail(ord[i].c);

		if (give > left)
			give = left;
		if (give < cfg->min_trim_bytes)
			continue;
		cout[ord[i].order].trim_bytes = give;
		cout[ord[i].order].urgency = out->urgency;
		left -= give;
		asked++;
	}
	free(ord);
	free(cls);
	if (asked == 0) {
		out->reason = POLICY_NOTHING_IDLE;
		out->urgency = 0;
		return 0;
	}
	out->shed_bytes = want - left;

	/* back-off: did the previous action bring anything back? */
	if (in->prev.last_action_ns != 0 && in->prev.last_asked > 0 &&
	    in->released_since_action < in->prev.last_asked / 4) {
		uint64_t c2 = (uint64_t)out->next.cooldown_ms * 2;

		out->next.cooldown_ms = c2 > cfg->max_cooldown_ms
					    ? cfg->max_cooldown_ms
					    : (uint32_t)c2;
	} else {
		out->next.cooldown_ms = cfg->cooldown_ms;
	}
	out->next.last_action_ns = now_ns;
	out->next.last_asked = out->shed_bytes;
	out->next.urgency = out->urgency;
	return asked;
}
