/*
 * reclaim.c: the release path's glue between the policy (policy.c, which
 * decides) and the core (core/heap.h, which releases).  It owns the
 * snapshot the policy decides on, carrying out a plan step by step, and the
 * one-shot requests of the API layer: mr_release() and malloc_trim().  The
 * scavenger (scavenger.c) and the soft limit (limit.c) use the same three
 * pieces; nobody else decides how much to release or with which advice.
 */
#include "config.h"
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include "os/options.h"
#include "os/os.h"
#include "os/purge.h"
#include "release/reclaim.h"
#include "release/release.h"
#include "release/scavenger.h"

_Static_assert(MRI_ADV_DONTNEED == MADV_DONTNEED, "advice values");
_Static_assert(MRI_ADV_FREE == MADV_FREE, "advice values");
_Static_assert(MRI_STEP_SPLIT == MRI_RELEASE_SPLIT &&
		   MRI_STEP_DRAIN == MRI_RELEASE_DRAIN &&
		   MRI_STEP_LAZY == MRI_RELEASE_LAZY,
	       "policy step flags are the heap's release flags");

/* A budgeted step releases at most this much between budget checks. */
#define RECLAIM_PIECE_BYTES ((uint64_t)64 << 20)

void
mri_release_opts(struct mri_rel_opts *o)
{
	int free_ok = mri_purge_free_ok();
	int64_t delay = mri_opt(MRI_OPT_RELEASE_DELAY_MS);

	memset(o, 0, sizeof(*o));
	o->goal_percent = (uint32_t)mri_opt(MRI_OPT_GOAL_PERCENT);
	o->limit_goal_percent = (uint32_t)mri_opt(MRI_OPT_LIMIT_GOAL_PERCENT);
	o->cpu_percent = (uint32_t)mri_opt(MRI_OPT_SCAVENGER_CPU);
	/* ms -> ns, saturating (an absurd delay is "never") */
	o->delay_ns = delay <= 0 ? 0
		      : (uint64_t)delay > UINT64_MAX / 1000000ULL
			  ? UINT64_MAX
			  : (uint64_t)delay * 1000000ULL;
	o->lazy_first = free_ok && mri_opt(MRI_OPT_LAZY_FREE) != 0;
	o->advice_free =
	    free_ok && mri_opt(MRI_OPT_ADVICE) == MRI_ADVICE_FREE;
	o->limit_hard = mri_opt(MRI_OPT_LIMIT_HARD) != 0;
}

void
mri_release_snapshot(struct mri_rel_in *in, enum mri_rel_cause cause,
		     uint64_t request_bytes)
{
	struct mri_heap_counters c;

	memset(in, 0, sizeof(*in));
	in->cause = cause;
	in->request_bytes = request_bytes;
	in->now_ns = mri_os->now_ns();
	in->limit_bytes =
	    __atomic_load_n(&mri_heap_soft_limit, __ATOMIC_RELAXED);
	mri_release_opts(&in->opt);
	if (cause == MRI_REL_LIMIT) {
		in->retained_bytes = mri_heap_retained();
		return;
	}
	mri_heap_page_counters(&c);
	in->in_use_bytes = c.in_use_bytes;
	in->retained_bytes =
	    c.mapped_bytes - c.released_bytes - c.lazy_bytes;
	in->idle_bytes = c.idle_bytes;
	in->lazy_bytes = c.lazy_bytes;
	in->lazy_partial_bytes = c.lazy_partial_bytes;
	in->oldest_idle_ns = c.oldest_idle_ns;
	in->oldest_lazy_ns = c.oldest_lazy_ns;
	in->frag_grown_bytes = c.frag_grown_bytes;
}

uint64_t
mri_release_run(const struct mri_rel_plan *p, const struct mri_rel_state *st,
		uint64_t *got)
{
	uint64_t spent = 0, released = 0;
	unsigned i;

	for (i = 0; i < p->nsteps; i++) {
		const struct mri_rel_step *s = &p->step[i];
		int budget = st && (s->flags & MRI_STEP_BUDGET);
		uint64_t want = s->bytes;

		got[i] = 0;
		if (s->flags & MRI_STEP_REST) {
			if (released >= want)
				continue;
			want -= released;
		}
		while (got[i] < want) {
			uint64_t piece = want - got[i], t0 = 0, g;

			if (budget) {
				if (spent >= st->credit_ns)
					break;
				if (piece > RECLAIM_PIECE_BYTES)
					piece = RECLAIM_PIECE_BYTES;
				t0 = mri_os->now_ns();
			}
			/* the heap rounds up to pages: keep it from
			 * overflowing on "everything" */
			if (piece > SIZE_MAX / 2)
				piece = SIZE_MAX / 2;
			g = mri_heap_release((size_t)piece, s->advice,
					     s->flags & MRI_STEP_HEAP_FLAGS,
					     s->min_age_ns);
			if (budget)
				spent += mri_os->now_ns() - t0;
			got[i] += g;
			if (g < piece)
				break;
		}
		if (!(s->flags & MRI_STEP_LAZY))
			released += got[i];
	}
	return spent;
}

void
mri_release_on_free(uint64_t in_use_bytes, uint64_t idle_bytes)
{
	uint64_t x = mri_relpol_excess(in_use_bytes, idle_bytes);

	if (x) {
		size_t got = mri_heap_release(x > SIZE_MAX / 2 ? SIZE_MAX / 2
							       : (size_t)x,
					      MADV_DONTNEED, 0, 0);
		mri_release_add(free_bytes, got);
	}
	mri_scavenger_wake();
}

static size_t
reclaim_one_shot(enum mri_rel_cause cause, uint64_t bytes)
{
	struct mri_rel_in in;
	struct mri_rel_state st;
	struct mri_rel_plan p;
	uint64_t got[MRI_REL_MAX_STEPS], sum = 0;
	unsigned i;

	memset(&st, 0, sizeof(st));
	mri_release_snapshot(&in, cause, bytes);
	mri_relpol_plan(&in, &st, &p);
	(void)mri_release_run(&p, NULL, got);
	for (i = 0; i < p.nsteps; i++)
		sum += got[i];
	return sum > SIZE_MAX ? SIZE_MAX : (size_t)sum;
}

size_t
mri_release_request(size_t bytes, int lazy)
{
	size_t got = reclaim_one_shot(lazy ? MRI_REL_API_LAZY : MRI_REL_API_NOW,
				      bytes);

	mri_release_add(api_bytes, got);
	return got;
}

int
mri_release_trim(size_t pad)
{
	struct mri_heap_counters c;
	uint64_t retained, keep;

	mri_heap_page_counters(&c);
	retained = c.mapped_bytes - c.released_bytes - c.lazy_bytes;
	keep = c.in_use_bytes + pad < c.in_use_bytes ? UINT64_MAX
						      : c.in_use_bytes + pad;
	if (retained <= keep && c.lazy_bytes == 0)
		return 0;
	return reclaim_one_shot(MRI_REL_API_NOW,
				retained > keep ? retained - keep : 0) > 0;
}
