/*
 * policy.c: the release decision (see policy.h).  Pure: no I/O, no clock,
 * no globals.
 *
 * Two stages.  Free memory is first made reclaimable, then returned:
 *
 *   1. Lazy free.  Idle memory above the goal gets MADV_FREE within
 *      milliseconds, whole hugepages first, once they have been free for
 *      MRI_REL_LAZY_AGE_NS (20 ms), so a buffer freed and allocated again
 *      at once is reused backed, with no madvise round trip (bench's large
 *      workload ran 3 times slower without that age).  The kernel may then take those
 *      pages whenever it needs them, before any OOM kill, even with no
 *      swap; if it does not, reusing them costs no fault.  A whole-hugepage
 *      MADV_FREE keeps the transparent huge page whole.
 *   2. Honest RSS.  Pages lazily freed at least release_delay ago get
 *      MADV_DONTNEED, so RSS and the cgroup's usage stop counting them.
 *
 * Timers decide when RSS becomes honest, never when memory becomes
 * reclaimable: a free that empties a hugepage wakes the scavenger
 * (mri_relpol_wake_on_free) and the first stage runs within milliseconds.
 * With the first stage off (MEMRECLAIM_LAZY=0), idle pages wait
 * release_delay and then go with the advice option (MEMRECLAIM_ADVICE), as
 * in memreclaim 0.1; with MEMRECLAIM_ADVICE=free the second stage is left
 * out and lazily freed pages stay so.
 *
 * The goal (Go's rule).  Retained memory (mapped, not released, not lazily
 * freed) should stay at most goal_percent (10%) above the memory the heap
 * uses in spans, and with a soft limit at most limit_goal_percent (95%) of
 * the limit:
 *
 *	goal = min(in_use * (100 + goal_percent) / 100,
 *		   limit * limit_goal_percent / 100)
 *
 * Example: 800 MiB in spans, 1 GiB retained, no limit: the goal is 880 MiB
 * and 144 MiB go.  With a 900 MiB limit the limit goal (855 MiB) wins and
 * 169 MiB go.
 *
 * Excess.  A large excess goes back at once, not lazily: when idle memory
 * passes max(256 MiB, in use / 4), whole hugepages go with MADV_DONTNEED
 * down to max(64 MiB, in use / 8) of idle memory, with no age rule; the
 * rest above the goal takes the two stages.  Example: 800 MiB in use,
 * 400 MiB just freed: 400 > 200, so 300 MiB go now and 100 MiB stay for
 * the next burst (of which 100 - 80 = 20 MiB above the goal are lazily
 * freed).  The band starts at 256 MiB, four times the floor kept, so a
 * program that frees and allocates buffers of tens of MiB in turn does
 * not give back and fault in again at every free: idle memory is reused
 * wherever it lies (a large span gets idle hugepages moved under it,
 * core/pageheap.c), so keeping it costs little peak RSS, while giving
 * it back costs a page fault per page when the next buffers come
 * (bench/README, "Figures behind constants").  A program that freed a
 * big structure shrinks at once, as it
 * would under glibc, whose big blocks are unmapped on free: the freeing
 * thread applies this rule itself (mri_relpol_excess, from the core's
 * freed hook, on that node's heap), and the scavenger's cycle again.
 *
 * Limit.  Past the limit goal the delay is ignored, hugepages may be split,
 * transfer caches are drained, and MADV_DONTNEED is used whatever the
 * options say: the limit is about RSS.  An allocation that would push
 * retained memory past the limit goal releases synchronously what it needs
 * first (cause MRI_REL_LIMIT): whole free hugepages, then split ones.  With
 * limit_hard, an allocation that still leaves retained memory more than
 * limit / 16 above the limit fails with ENOMEM.  Example: limit 1 GiB, goal
 * 972.8 MiB, margin 64 MiB: with 1000 MiB retained, a 40 MiB allocation
 * releases 42 MiB first (see the bound below); had nothing been free, it
 * would still go ahead (1040 < 1088 MiB), but a 100 MiB one would fail
 * (1100 > 1088 MiB).
 *
 * The synchronous release is bounded by the request, not by how far over
 * the goal the heap is: at most n + MRI_REL_SYNC_SLACK (2 MiB) for an
 * allocation of n bytes, the rest (deferred_bytes) left to the scavenger,
 * which the allocating thread wakes.  Each allocation over the goal thus
 * takes retained memory 2 MiB closer to it, and none pays for a limit
 * lowered by hundreds of MiB.  Only limit_hard asks for more, as much as
 * lets the allocation stay under the hard line (else it fails anyway).
 * Example: the daemon lowers the limit to 512 MiB (goal 486.4 MiB) with
 * 1000 MiB retained: a 64 KiB allocation releases 2 MiB + 64 KiB and
 * 511.6 MiB are deferred; with limit_hard (line 544 MiB) it must release
 * 456.06 MiB.  What is released may pass the step's size by less than one
 * hugepage (pagerelease.c takes whole hugepages, or whole free runs), so
 * one allocation releases at most n + 4 MiB, in at most that many bytes /
 * 8 KiB ranges (one madvise each, or one io_uring submission per 64).
 * When a synchronous release finds nothing at all, the heap in use fills
 * the limit by itself: allocating threads then skip the release for
 * MRI_REL_LIMIT_BACKOFF_NS (the scavenger keeps at it), so each new span
 * does not pay a drain of the central lists for nothing.
 *
 * Sparse heap.  A dense heap never has its hugepages split by the
 * scavenger.  But when the heap in use is under half of what it retains,
 * the rest sits in mostly empty hugepages pinned by a few spans: their
 * free runs go too (Go's scavenger likewise breaks sparse hugepages and
 * spares dense ones).  Under a limit (the cgroup's, or one set) they are
 * lazily freed at once, like whole hugepages: a service that keeps one
 * object in twenty must not wait for a timer before the kernel may take
 * the rest.  Example: 300 MiB of 100 KiB blocks, one kept in fifteen, in a
 * 512 MiB cgroup: no hugepage empties, 20 MiB stay in use of 300 MiB
 * retained, so the 280 MiB of free runs are lazily freed within
 * milliseconds.  Without a limit they go once nothing changed for a whole
 * delay: splitting hugepages at every free costs a service with periodic
 * bursts dearly (bench's burst-repeat: later bursts took 2.4 times as
 * long, with ten times the page faults, when its sparse free runs were
 * lazily freed at once).
 *
 * Growth beside idle pages.  When the heap faults in fresh pages for a
 * span while at least as many free backed pages (and 1 MiB more) sit idle
 * in it (core/pageheap.c counts them: holes too short for the new
 * blocks, as growing buffers and mixed block sizes leave them), that much
 * idle memory goes at once with MADV_DONTNEED, splitting hugepages, down
 * to the goal: RSS then grows by what the heap uses, not by its holes too.
 * Go's runtime likewise scavenges as much as its heap grows past the
 * goal.  Example: 100 MiB in use, 60 MiB idle in holes of 200 KiB, 8 MiB of
 * 400 KiB blocks faulted in since the last cycle: 8 MiB of holes go (50
 * MiB are above the goal).  bench's realloc workload peaked at 25 MiB
 * without it, 18 MiB with it (bench/README).
 *
 * CPU budget.  Time spent in budgeted steps is charged against a credit
 * that grows at cpu_percent of wall time, capped at MRI_REL_CREDIT_MAX_NS:
 * a quiet process may release a burst at once, steady churn is held to
 * about cpu_percent of one CPU.  With 1% and 20 ms spent, the credit is
 * back after 2 s.  Wall time, not thread CPU time, because the io_uring
 * backend works in kernel threads.  The limit is never held to the budget.
 *
 * Scheduling.  With nothing left above the goal the next cycle is the slow
 * tick (1 s).  Lazily freed pages are due for the second stage when the
 * oldest of them is a delay old.  When pages were too young, the next
 * cycle comes a quarter of a delay later; after more than a whole delay of
 * fruitless cycles with no activity what is left cannot go without
 * splitting a dense heap, and the slow tick resumes.  Out of CPU budget
 * the next cycle is when the credit is back, whatever else is due, unless
 * the heap is still over the soft limit's goal.
 */
#include "policy.h"

#define MIB (1ULL << 20)
#define REL_EXCESS_FLOOR (64 * MIB)	  /* idle kept at least */
#define REL_EXCESS_BAND_FLOOR (256 * MIB) /* idle released past at least */
#define REL_SHORT_STEPS 4

static uint64_t
pct_of(uint64_t v, uint64_t pct)
{
	/* v * pct / 100 without overflow for any v and pct <= 1000 */
	return v / 100 * pct + v % 100 * pct / 100;
}

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

uint64_t
mri_relpol_limit_goal(uint64_t limit, const struct mri_rel_opts *o)
{
	uint64_t pct = o->limit_goal_percent;

	if (pct == 0 || pct > 100)
		pct = 100;
	return pct_of(limit, pct);
}

uint64_t
mri_relpol_goal(uint64_t in_use, uint64_t limit, const struct mri_rel_opts *o)
{
	uint64_t pct = o->goal_percent > 1000 ? 1000 : o->goal_percent;
	uint64_t goal = sat_add(in_use, pct_of(in_use, pct));
	uint64_t lgoal = limit ? mri_relpol_limit_goal(limit, o) : 0;

	return lgoal && lgoal < goal ? lgoal : goal;
}

static uint64_t
cpu_pct(const struct mri_rel_opts *o)
{
	return o->cpu_percent < 1 ? 1 : o->cpu_percent > 100 ? 100 :
							      o->cpu_percent;
}

static void
add_step(struct mri_rel_plan *p, uint64_t bytes, int advice, unsigned flags,
	 uint64_t min_age_ns)
{
	struct mri_rel_step *s;

	if (bytes == 0 || p->nsteps == MRI_REL_MAX_STEPS)
		return;
	s = &p->step[p->nsteps++];
	s->bytes = bytes;
	s->advice = advice;
	s->flags = flags;
	s->min_age_ns = min_age_ns;
}

uint64_t
mri_relpol_excess(uint64_t in_use, uint64_t idle)
{
	uint64_t q = in_use / 4, e = in_use / 8;
	uint64_t band = q > REL_EXCESS_BAND_FLOOR ? q : REL_EXCESS_BAND_FLOOR;
	uint64_t keep = e > REL_EXCESS_FLOOR ? e : REL_EXCESS_FLOOR;

	return idle > band ? idle - keep : 0;
}

static void
plan_cycle(const struct mri_rel_in *in, struct mri_rel_state *st,
	   struct mri_rel_plan *p)
{
	const struct mri_rel_opts *o = &in->opt;
	uint64_t now = in->now_ns, rem = in->retained_bytes;
	uint64_t goal = p->goal_bytes, lgoal = p->limit_goal_bytes;
	int second = o->lazy_first && !o->advice_free;
	int adv2 = o->advice_free ? MRI_ADV_FREE : MRI_ADV_DONTNEED;
	int urgent = lgoal && rem > lgoal;
	uint64_t grown;

	/* Earn CPU credit for the time since the last decision. */
	if (now > st->credit_at_ns) {
		uint64_t earned = (now - st->credit_at_ns) / 100 * cpu_pct(o);
		uint64_t repay = earned < st->debt_ns ? earned : st->debt_ns;

		/* a wake (a free) before the debt is paid must not hand
		 * out fresh credit: the budget would only hold without
		 * frees */
		st->debt_ns -= repay;
		earned -= repay;
		st->credit_ns = sat_add(st->credit_ns, earned);
		if (st->credit_ns > MRI_REL_CREDIT_MAX_NS)
			st->credit_ns = MRI_REL_CREDIT_MAX_NS;
	}
	st->credit_at_ns = now;
	/* Activity (a wake after a free, or the heap in use changed)
	 * restarts the delay: the free memory may be young. */
	if (in->woken || in->in_use_bytes != st->in_use_seen) {
		st->fruitless = 0;
		st->active_at_ns = now;
	}
	st->in_use_seen = in->in_use_bytes;

	/* Steps marked REST aim at the goal: their size is what is above it
	 * in the snapshot, less what the steps before them released. */
	if (urgent)
		add_step(p, rem - lgoal, MRI_ADV_DONTNEED,
			 MRI_STEP_SPLIT | MRI_STEP_DRAIN, 0);
	/* Out of CPU budget, growth beside idle pages stays pending: the
	 * memory is still there for the next cycle with credit. */
	if (st->credit_ns == 0)
		return;
	grown = in->frag_grown_bytes - st->frag_seen;
	st->frag_seen = in->frag_grown_bytes;
	if (rem > goal) {
		uint64_t b = rem - goal;
		int sparse = !urgent && in->in_use_bytes < rem / 2;

		/* Growth beside idle pages: give back as much of them as
		 * was faulted in, splitting hugepages, at once. */
		if (!urgent && grown)
			add_step(p, grown < b ? grown : b, MRI_ADV_DONTNEED,
				 MRI_STEP_BUDGET | MRI_STEP_SPLIT, 0);

		/* A large excess goes at once (whole hugepages, no age). */
		if (!urgent) {
			uint64_t x = mri_relpol_excess(in->in_use_bytes,
						       in->idle_bytes);

			add_step(p, x < b ? x : b, MRI_ADV_DONTNEED,
				 MRI_STEP_BUDGET, 0);
		}
		if (o->lazy_first) {
			add_step(p, b, MRI_ADV_FREE,
				 MRI_STEP_BUDGET | MRI_STEP_REST,
				 MRI_REL_LAZY_AGE_NS);
			add_step(p, b, MRI_ADV_FREE,
				 MRI_STEP_BUDGET | MRI_STEP_DRAIN |
					 MRI_STEP_REST,
				 MRI_REL_LAZY_AGE_NS);
			if (sparse && in->limit_bytes)
				add_step(p, b, MRI_ADV_FREE,
					 MRI_STEP_BUDGET | MRI_STEP_SPLIT |
						 MRI_STEP_REST,
					 0);
			else if (sparse && now - st->active_at_ns >= o->delay_ns)
				add_step(p, b, adv2,
					 MRI_STEP_BUDGET | MRI_STEP_SPLIT |
						 MRI_STEP_REST,
					 0);
		} else {
			add_step(p, b, adv2, MRI_STEP_BUDGET | MRI_STEP_REST,
				 o->delay_ns);
			add_step(p, b, adv2,
				 MRI_STEP_BUDGET | MRI_STEP_DRAIN |
					 MRI_STEP_REST,
				 o->delay_ns);
			/* Sparse heap: quiet for a delay, using under half. */
			if (sparse && now - st->active_at_ns >= o->delay_ns)
				add_step(p, b, adv2,
					 MRI_STEP_BUDGET | MRI_STEP_SPLIT |
						 MRI_STEP_REST,
					 0);
		}
	}
	/* Second stage: lazily freed pages a delay old become honest. */
	if (second && in->lazy_bytes &&
	    ((in->oldest_lazy_ns && now - in->oldest_lazy_ns >= o->delay_ns) ||
	     in->lazy_partial_bytes))
		add_step(p, in->lazy_bytes, MRI_ADV_DONTNEED,
			 MRI_STEP_BUDGET | MRI_STEP_LAZY |
				 (in->lazy_partial_bytes ? MRI_STEP_SPLIT : 0),
			 o->delay_ns);
}

void
mri_relpol_plan(const struct mri_rel_in *in, struct mri_rel_state *st,
		struct mri_rel_plan *p)
{
	const struct mri_rel_opts *o = &in->opt;
	uint64_t lim = in->limit_bytes, n = in->request_bytes;

	p->nsteps = 0;
	p->goal_bytes = mri_relpol_goal(in->in_use_bytes, lim, o);
	p->limit_goal_bytes = lim ? mri_relpol_limit_goal(lim, o) : 0;
	p->hard_bytes = 0;
	p->deferred_bytes = 0;

	switch (in->cause) {
	case MRI_REL_CYCLE:
		plan_cycle(in, st, p);
		break;
	case MRI_REL_LIMIT:
		if (!lim)
			break;
		if (o->limit_hard)
			p->hard_bytes = sat_add(lim, lim / 16);
		if (in->now_ns < st->limit_backoff_until_ns)
			break;
		if (sat_add(in->retained_bytes, n) > p->limit_goal_bytes) {
			uint64_t after = sat_add(in->retained_bytes, n);
			uint64_t need = after - p->limit_goal_bytes;
			uint64_t cap = sat_add(n, MRI_REL_SYNC_SLACK);

			/* Bounded by the request, not by how far over the
			 * goal the heap is; limit_hard may need more to
			 * let the allocation through at all. */
			if (p->hard_bytes && after > p->hard_bytes &&
			    after - p->hard_bytes > cap)
				cap = after - p->hard_bytes;
			if (need > cap) {
				p->deferred_bytes = need - cap;
				need = cap;
			}

			/* Whole free hugepages first; split only if that was
			 * not enough.  No age rule: the limit wins. */
			add_step(p, need, MRI_ADV_DONTNEED, MRI_STEP_DRAIN, 0);
			add_step(p, need, MRI_ADV_DONTNEED,
				 MRI_STEP_SPLIT | MRI_STEP_DRAIN |
					 MRI_STEP_REST,
				 0);
		}
		break;
	case MRI_REL_API_LAZY:
		add_step(p, n, MRI_ADV_FREE, 0, 0);
		break;
	case MRI_REL_API_NOW:
		add_step(p, n, MRI_ADV_DONTNEED,
			 MRI_STEP_SPLIT | MRI_STEP_DRAIN, 0);
		/* Now means RSS too: lazily freed pages go for good. */
		add_step(p, in->lazy_bytes, MRI_ADV_DONTNEED,
			 MRI_STEP_LAZY | MRI_STEP_SPLIT, 0);
		break;
	}
}

uint64_t
mri_relpol_done(const struct mri_rel_in *in, struct mri_rel_state *st,
		const struct mri_rel_plan *p, const uint64_t *got,
		uint64_t spent_ns, uint64_t now_ns)
{
	const struct mri_rel_opts *o = &in->opt;
	uint64_t released = 0, debt = 0, next, quarter;
	unsigned i;
	int budgeted = 0, over_lgoal;

	for (i = 0; i < p->nsteps; i++) {
		if (!(p->step[i].flags & MRI_STEP_LAZY))
			released = sat_add(released, got[i]);
		if (p->step[i].flags & MRI_STEP_BUDGET)
			budgeted = 1;
	}
	if (in->cause == MRI_REL_LIMIT) {
		if (p->nsteps && released == 0)
			st->limit_backoff_until_ns =
				now_ns + MRI_REL_LIMIT_BACKOFF_NS;
		return 0;
	}
	if (in->cause != MRI_REL_CYCLE)
		return 0;
	if (budgeted) {
		if (spent_ns > st->credit_ns) {
			debt = spent_ns - st->credit_ns;
			st->credit_ns = 0;
			st->debt_ns = sat_add(st->debt_ns, debt);
		} else {
			st->credit_ns -= spent_ns;
		}
	}

	quarter = o->delay_ns / REL_SHORT_STEPS;
	if (quarter < MRI_REL_MIN_SLEEP_NS)
		quarter = MRI_REL_MIN_SLEEP_NS;
	over_lgoal = p->limit_goal_bytes &&
		     in->retained_bytes > sat_add(p->limit_goal_bytes, released);
	if (in->retained_bytes <= sat_add(p->goal_bytes, released)) {
		st->fruitless = 0;
		next = now_ns + MRI_REL_IDLE_TICK_NS;
	} else if (st->credit_ns == 0 && !over_lgoal) {
		/* Out of budget: come back when it is earned again, not
		 * sooner for young hugepages: every step they would take is
		 * budgeted, so such a cycle would spend its snapshot and plan
		 * on nothing (under churn a cycle a millisecond, several
		 * times the budget itself).  Still over the soft limit's
		 * goal, the budget does not apply (the step that releases
		 * down to it is not budgeted): the schedule below, as with
		 * credit. */
		st->fruitless = 0;
		return now_ns + (debt ? debt : MRI_REL_MIN_SLEEP_NS) /
				    cpu_pct(o) * 100;
	} else {
		st->fruitless = released ? 0 : st->fruitless + 1;
		if (st->fruitless > REL_SHORT_STEPS &&
		    now_ns - st->active_at_ns > o->delay_ns)
			next = now_ns + MRI_REL_IDLE_TICK_NS;
		else
			next = now_ns + quarter;
	}
	/* Whole hugepages too young for the first stage: come back when the
	 * oldest is old enough (not when they are all older already: then
	 * what is left sits inside used hugepages). */
	if (o->lazy_first && in->oldest_idle_ns &&
	    in->oldest_idle_ns + MRI_REL_LAZY_AGE_NS > now_ns &&
	    in->retained_bytes > sat_add(p->goal_bytes, released) &&
	    in->oldest_idle_ns + MRI_REL_LAZY_AGE_NS < next)
		next = in->oldest_idle_ns + MRI_REL_LAZY_AGE_NS;
	return next;
}

uint64_t
mri_relpol_lazy_due(const struct mri_rel_opts *o,
		    const struct mri_rel_state *st, uint64_t oldest_lazy_ns,
		    uint64_t lazy_partial_bytes, uint64_t now_ns)
{
	uint64_t due = UINT64_MAX;

	/* The second stage is budgeted: out of credit, it waits for the
	 * cycle mri_relpol_done scheduled when the credit is back. */
	if (!o->lazy_first || o->advice_free || st->credit_ns == 0)
		return UINT64_MAX;
	if (oldest_lazy_ns)
		due = sat_add(oldest_lazy_ns, o->delay_ns);
	if (lazy_partial_bytes) {
		uint64_t q = o->delay_ns / REL_SHORT_STEPS;

		if (sat_add(now_ns, q) < due)
			due = sat_add(now_ns, q);
	}
	if (due == UINT64_MAX)
		return due;
	return due > now_ns + MRI_REL_MIN_SLEEP_NS ?
		       due :
		       now_ns + MRI_REL_MIN_SLEEP_NS;
}
