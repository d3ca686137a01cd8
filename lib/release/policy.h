/*
 * policy.h: the library's release decision, as one pure function.
 *
 * Every path that gives memory back asks this module what to do: the
 * scavenger's cycle, an allocating thread crossing the soft limit,
 * mr_release() (and through it the daemon's TRIM), and malloc_trim().  It
 * is handed a snapshot of the heap (bytes in use, retained, idle, lazily
 * freed, how old the oldest free hugepages are), the limit, the options,
 * the time and the state carried from the previous decision, and returns a
 * plan: up to MRI_REL_MAX_STEPS releases, each with its size, advice, page
 * age and flags, and when to run next.  No I/O, no clock, no globals, no
 * locks: tests feed it hand-made sequences (tests/unit/check_relpolicy.c).
 * The rules and worked examples are at the top of policy.c.
 *
 * The caller executes the steps in order through mri_heap_release() and
 * reports what each one gave (mri_relpol_done), which charges the CPU
 * budget and schedules the next cycle.
 */
#ifndef MRI_RELPOLICY_H
#define MRI_RELPOLICY_H

#include <stdint.h>

/* Why the policy is asked. */
enum mri_rel_cause {
	MRI_REL_CYCLE,	  /* the scavenger's cycle (timer or wake) */
	MRI_REL_LIMIT,	  /* an allocation would cross the soft limit */
	MRI_REL_API_LAZY, /* mr_release(MR_URGENCY_LAZY): MADV_FREE */
	MRI_REL_API_NOW,  /* mr_release(MR_URGENCY_NOW), malloc_trim */
};

/* Step flags (the same bits as mri_heap_release's flags, see heap.h). */
#define MRI_STEP_SPLIT 0x1 /* may release runs inside used hugepages */
#define MRI_STEP_DRAIN 0x2 /* return transfer-cached objects first */
#define MRI_STEP_LAZY 0x4  /* take lazily freed pages (2nd stage) */
/* Executor hints, not passed to the heap: */
#define MRI_STEP_BUDGET 0x100	   /* charged to the CPU budget */
#define MRI_STEP_REST 0x200	   /* bytes less what the steps before it
				    * released (LAZY steps aside): the rest
				    * of a shortfall; skipped when none */
#define MRI_STEP_HEAP_FLAGS 0xff

#define MRI_REL_MAX_STEPS 6

/* Advice values, as the heap takes them (madvise's are the same). */
#define MRI_ADV_DONTNEED 4 /* MADV_DONTNEED */
#define MRI_ADV_FREE 8	   /* MADV_FREE */

struct mri_rel_opts {
	uint32_t goal_percent;	     /* retained goal over in use, % */
	uint32_t limit_goal_percent; /* with a limit: aim at this % of it */
	uint32_t cpu_percent;	     /* scavenger budget, % of one CPU */
	uint64_t delay_ns;	     /* free pages younger stay backed */
	int lazy_first;		     /* 1st stage: MADV_FREE at once */
	int advice_free;	     /* 2nd stage advice is MADV_FREE too */
	int limit_hard;		     /* refuse past limit + limit / 16 */
};

/* The heap as the caller sees it now (bytes, ns). */
struct mri_rel_in {
	enum mri_rel_cause cause;
	uint64_t now_ns;
	uint64_t request_bytes; /* API: bytes asked; LIMIT: the allocation */
	uint64_t in_use_bytes;	/* pages in spans */
	uint64_t retained_bytes; /* mapped - released - lazily freed */
	uint64_t idle_bytes;	/* free and backed (part of retained) */
	uint64_t lazy_bytes;	/* free, MADV_FREE given, not yet DONTNEED */
	uint64_t lazy_partial_bytes; /* of those, inside used hugepages */
	uint64_t limit_bytes;	/* soft limit in force, 0: none */
	/* When the oldest wholly free backed hugepage, and the oldest lazily
	 * freed one, became free; 0: there is none. */
	uint64_t oldest_idle_ns;
	uint64_t oldest_lazy_ns;
	int woken;		/* a free asked for this cycle */
	/* Pages faulted in while as many sat idle (cumulative, bytes; the
	 * core's frag_grown_bytes) */
	uint64_t frag_grown_bytes;
	struct mri_rel_opts opt;
};

/* Carried from one decision to the next (one per scavenger; the other
 * causes use only limit_backoff_until_ns). */
struct mri_rel_state {
	uint64_t credit_ns;	     /* may spend this long releasing */
	uint64_t credit_at_ns;	     /* when credit_ns was brought up */
	uint64_t debt_ns;	     /* overspent: repaid before new credit */
	uint64_t active_at_ns;	     /* last cycle that saw the heap change */
	uint64_t in_use_seen;	     /* in use at the last cycle */
	uint32_t fruitless;	     /* cycles short of the goal in a row */
	uint64_t limit_backoff_until_ns; /* limit path: skip until then */
	uint64_t frag_seen;	     /* frag_grown_bytes at the last cycle */
};

struct mri_rel_step {
	uint64_t bytes;
	int advice;	     /* MRI_ADV_* */
	unsigned flags;	     /* MRI_STEP_* */
	uint64_t min_age_ns; /* only pages free at least this long */
};

struct mri_rel_plan {
	unsigned nsteps;
	struct mri_rel_step step[MRI_REL_MAX_STEPS];
	uint64_t goal_bytes;	   /* retained goal of this decision */
	uint64_t limit_goal_bytes; /* limit * limit_goal_percent, 0: none */
	uint64_t hard_bytes;	   /* LIMIT: refuse past this, 0: never */
	uint64_t deferred_bytes;   /* LIMIT: over the goal but past the
				    * synchronous bound: the scavenger's */
};

/* Credit is capped: a quiet process may release a burst at once. */
#define MRI_REL_CREDIT_MAX_NS 200000000ULL /* 200 ms */
/* The slow tick with nothing to do. */
#define MRI_REL_IDLE_TICK_NS 1000000000ULL /* 1 s */
/* Shortest sleep between cycles. */
#define MRI_REL_MIN_SLEEP_NS 1000000ULL /* 1 ms */
/* After a wake, the first stage waits this long for the rest of the free
 * burst, so its pages go in one batch. */
#define MRI_REL_BATCH_NS 2000000ULL /* 2 ms */
/* The first stage leaves whole hugepages free for less than this alone: a
 * program that frees a buffer and allocates the next one at once reuses it
 * backed, without an madvise round trip. */
#define MRI_REL_LAZY_AGE_NS 20000000ULL /* 20 ms */
/* Limit path: an allocation of n bytes releases at most n + this
 * synchronously (unless limit_hard needs more to let it through). */
#define MRI_REL_SYNC_SLACK (2ULL << 20) /* one hugepage */
/* Limit path: after a synchronous release found nothing, skip for this. */
#define MRI_REL_LIMIT_BACKOFF_NS 1000000ULL /* 1 ms */

/* retained goal: min(in_use * (100 + goal%) / 100, limit goal). */
uint64_t mri_relpol_goal(uint64_t in_use, uint64_t limit,
			 const struct mri_rel_opts *o);
/* limit * limit_goal_percent / 100 (0 without a limit). */
uint64_t mri_relpol_limit_goal(uint64_t limit, const struct mri_rel_opts *o);

/* The large-excess rule: bytes of idle memory to give back at once with
 * MADV_DONTNEED, whole hugepages, no age rule (0 almost always).  For a
 * free that leaves idle bytes beside in_use bytes of spans. */
uint64_t mri_relpol_excess(uint64_t in_use, uint64_t idle);

/* Decide.  Updates the credit and activity fields of *st. */
void mri_relpol_plan(const struct mri_rel_in *in, struct mri_rel_state *st,
		     struct mri_rel_plan *out);

/*
 * After the caller ran the plan: got[i] is what step i released (0 for a
 * step it skipped), spent_ns the time all of them took, now_ns the time
 * after.  Charges the budget, updates *st, and returns when the next cycle
 * is due (CLOCK_MONOTONIC ns).  For MRI_REL_LIMIT it sets the back-off
 * when nothing was released and returns 0.
 */
uint64_t mri_relpol_done(const struct mri_rel_in *in, struct mri_rel_state *st,
			 const struct mri_rel_plan *plan, const uint64_t *got,
			 uint64_t spent_ns, uint64_t now_ns);

/* When the lazily freed pages are due for the second stage: a delay after
 * the oldest wholly free one became free, and every quarter delay while
 * runs inside used hugepages are lazily freed (not before now +
 * MRI_REL_MIN_SLEEP_NS); UINT64_MAX when there is no second stage, nothing
 * lazily freed, or no CPU credit in *st (the stage is budgeted). */
uint64_t mri_relpol_lazy_due(const struct mri_rel_opts *o,
			     const struct mri_rel_state *st,
			     uint64_t oldest_lazy_ns,
			     uint64_t lazy_partial_bytes, uint64_t now_ns);

#endif
