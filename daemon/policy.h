/*
 * policy.h: the decision of memreclaimd, as a pure function.
 *
 * policy_eval() takes one watched cgroup's settings, its fresh sample, the
 * state carried from the previous decision, its clients' last reports and
 * the time, and returns how many bytes the cgroup should shed, which
 * clients are asked for how much and how urgently, their soft limits, and
 * the state to carry forward.  No I/O, no clock, no globals: the tests
 * feed it hand-made sequences.  The control law is explained in policy.c.
 */
#ifndef MRD_POLICY_H
#define MRD_POLICY_H

#include <stdint.h>
#include <sys/types.h>

#include "cgroupfs.h"
#include "conf.h"

#define POLICY_LIMIT_KEEP UINT64_MAX /* client_out.limit: no change */

/* One client of the cgroup, as the daemon knows it. */
struct policy_client {
	pid_t pid;
	int oom_score_adj;   /* -1000 .. 1000 */
	int has_stats;	     /* 0 until its first STATS */
	uint64_t idle_bytes; /* free but backed: what a trim can take */
	uint64_t retained_bytes;
	uint64_t in_use_bytes;
	uint64_t lazy_freed_bytes; /* MADV_FREE'd: the kernel takes them */
	uint64_t pending_bytes; /* asked by TRIMs not yet answered */
	uint64_t limit_sent;	/* last LIMIT sent, 0 none */
	/* resident bytes the daemon read itself (/proc/PID/statm), not from
	 * the client's report; 0: unknown.  Bounds what a client may claim. */
	uint64_t proc_rss_bytes;
};

/* Carried from one decision to the next, per cgroup. */
struct policy_state {
	uint64_t sample_ns;	 /* time of the previous sample, 0: none */
	uint64_t some_total_us;	 /* its PSI some total */
	uint64_t last_action_ns; /* when TRIMs were last sent, 0: never */
	uint64_t last_asked;	 /* bytes they asked for */
	uint32_t cooldown_ms;	 /* current cooldown (backs off) */
	uint32_t urgency;	 /* of the last action */
	uint64_t max_events;	 /* sample's max_events seen last time */
	uint64_t oom_events;	 /* sample's oom_events seen last time */
	uint32_t psi_missing;	 /* the previous sample had no PSI: no
				  * stall from the difference with it */
};

struct policy_in {
	const struct conf_cg *cfg;
	struct cgfs_sample s; /* limit, usage, stat, psi */
	int psi_valid;	      /* s.psi holds the cgroup's (or host) PSI */
	uint64_t released_since_action; /* TRIM_DONE bytes since last act */
	struct policy_state prev;
	const struct policy_client *clients;
	int nclients;
};

enum policy_reason {
	POLICY_IDLE = 0,	 /* nothing to do */
	POLICY_LIMIT = 1,	 /* working set inside the headroom */
	POLICY_PRESSURE = 2,	 /* stall above target */
	POLICY_COOLDOWN = 3,	 /* would act, but cooling down */
	POLICY_NOTHING_IDLE = 4, /* would act, but no client has idle bytes */
	POLICY_NEAR_OOM = 5,	 /* usage at the limit or max/oom events */
};

struct policy_out {
	struct policy_state next;
	uint64_t headroom_bytes; /* wanted free below the limit, 0: no limit */
	uint64_t working_set_bytes; /* usage - reclaimable (see policy.c) */
	uint64_t lazy_freed_bytes;  /* clients' lazily freed, clamped */
	double stall_pct;	    /* some-stall over the last interval, % */
	uint64_t shed_bytes;	    /* asked of clients now */
	uint64_t want_bytes;	    /* what the cgroup should shed */
	uint32_t urgency;	    /* MR_PROTO_URGENCY_*, 0 when shed is 0 */
	int reason;		    /* enum policy_reason */
	int near_oom;		    /* near-OOM seen: NOW, no cooldown */
};

struct policy_client_out {
	uint64_t trim_bytes; /* 0: no TRIM */
	uint32_t urgency;
	uint64_t limit_bytes; /* POLICY_LIMIT_KEEP, or the LIMIT to send */
};

/*
 * The one order in which clients give memory, used by policy_eval() and
 * by operator trims: 1 if a gives before b.  Clients at -1000 (never to be
 * OOM-killed) come last; then, with order CONF_ORDER_OOM, the highest
 * oom_score_adj first; then the most idle bytes not already asked for;
 * then the lower pid, so the order is total.
 */
int policy_before(const struct policy_client *a, const struct policy_client *b,
		  int order);

/* The headroom H kept free below limit (0: no limit); see policy.c. */
uint64_t policy_headroom(const struct conf_cg *cfg, uint64_t limit);

/* The soft-limit floor of a client with in_use bytes live: in_use plus
 * max(in_use / 8, POLICY_LIMIT_MARGIN_MIN), saturated (see policy.c). */
#define POLICY_LIMIT_MARGIN_MIN (16ull << 20)
uint64_t policy_limit_floor(uint64_t in_use);

/* c's figures bounded by what the cgroup allows: retained at most the
 * cgroup's usage (and the resident size the daemon read, when known),
 * idle, in-use and lazily freed at most retained.  Pure. */
void policy_clamp(const struct policy_client *c, uint64_t usage,
		  struct policy_client *out);

/* x * frac for frac in [0, 1] (clamped; NaN is 0) without floating-point
 * conversion of a 64-bit value: never above x, defined for every x. */
uint64_t policy_scale(uint64_t x, double frac);

/* Decide for one cgroup.  cout has in->nclients entries, in the same
 * order as in->clients.  Returns the number of clients asked to trim. */
int policy_eval(const struct policy_in *in, uint64_t now_ns,
		struct policy_out *out, struct policy_client_out *cout);

#endif
