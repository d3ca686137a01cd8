/*
 * sample.c: the sampler's countdown, the buckets and the table of live
 * sampled objects.  See prof.h for the design and the lock order.
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include "core/meta.h"
#include "core/pagemap.h"
#include "core/span.h"
#include "os/layout.h"
#include "os/options.h"
#include "prof/prof.h"

__thread int64_t mri_tls_prof_left MRI_TLS_IE;
/* xorshift64* state, 0 until the thread's first tick. */
static __thread uint64_t prof_rng MRI_TLS_IE;
/* Set while this thread samples: mallocs from inside (libunwind, the
 * stack bounds of a new thread) are not sampled. */
static __thread int prof_busy MRI_TLS_IE;
/* Set while the countdown is an exponential draw; clear while it only
 * counts to the next look at the switch (sampling off, or cut short by
 * prof_busy), whose end must not be taken as a sample point. */
static __thread int prof_armed MRI_TLS_IE;

static pthread_mutex_t prof_lock = PTHREAD_MUTEX_INITIALIZER;

#define BUCKET_HEADS 4096
static struct mri_prof_bucket **bucket_heads; /* prof lock */
static struct mri_prof_bucket *bucket_list;   /* release/acquire */

/* Live samples: open addressing, linear probing, key 0 empty.  A removal
 * shifts the records after it back (no deleted markers), so a lookup
 * probes only past live records, and the table grows (doubled, the old
 * table left to the metadata) only when live records pass half of it:
 * its size follows the most samples live at once, not the number ever
 * taken.  With markers, a program that frees what it allocates (churn)
 * filled the table with them and doubled it every 2 x capacity samples,
 * and lookups walked long runs of them. */
struct live {
	uintptr_t addr;
	struct mri_prof_bucket *b;
};
#define LIVE_EMPTY 0
static struct live *live_tab; /* prof lock */
static size_t live_cap, live_used;

/* Seeds are a fixed sequence, not the clock: the same program allocating
 * the same way takes the same samples, which makes profiles comparable
 * and tests repeatable. */
static uint64_t prof_seed_next = 0x9e3779b97f4a7c15ull;

static uint64_t
prof_rand(void)
{
	uint64_t x = prof_rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	prof_rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/*
 * ln and e^x - 1 without libm (the library does not link it: a process
 * that never profiles should not map it).  ln(x) for x > 0: x = m 2^e with
 * m in [1/sqrt2, sqrt2), ln x = e ln2 + 2 atanh(z), z = (m-1)/(m+1), |z| <
 * 0.172, whose series needs 12 terms for double precision (0.0296^12 <
 * 1e-18).  expm1(x) for
 * x <= 0: the Taylor series near 0 (no cancellation), else exp by
 * squaring x / 2^k.
 */
/* 1 / (2i + 1): the coefficients of atanh's series. */
static const double prof_odd_inv[12] = {
    1.0,      1.0 / 3,  1.0 / 5,  1.0 / 7,  1.0 / 9,  1.0 / 11,
    1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21, 1.0 / 23};

static double
prof_ln(double x)
{
	union {
		double d;
		uint64_t u;
	} v = {.d = x};
	int e = (int)((v.u >> 52) & 0x7ff) - 1023;
	double m, z, z2, t, s = 0;
	int i;

	v.u = (v.u & ~(0x7ffULL << 52)) | (1023ULL << 52); /* m in [1, 2) */
	m = v.d;
	if (m > 1.4142135623730951) {
		m /= 2;
		e++;
	}
	z = (m - 1) / (m + 1);
	z2 = z * z;
	t = z;
	/* Horner on 1/(2i+1): 12 terms, and multiplications, not one
	 * division a term (a sample draws once; this was 20 divisions) */
	for (i = 11; i >= 0; i--)
		s = s * z2 + prof_odd_inv[i];
	return e * 0.6931471805599453 + 2 * t * s;
}

static double
prof_expm1_neg(double x)
{
	double t = x, s = 0, r;
	int i, k = 0;

	if (x >= -0.5) {
		for (i = 1; i < 30; i++) {
			s += t;
			t *= x / (i + 1);
		}
		return s;
	}
	while (x < -0.5) {
		x /= 2;
		k++;
	}
	r = 1 + prof_expm1_neg(x);
	while (k--)
		r *= r;
	return r - 1;
}

/* Exponential with mean interval: -ln(u) * interval, u in (0, 1]. */
static int64_t
prof_draw(void)
{
	double u = (double)((prof_rand() >> 11) + 1) * 0x1p-53;
	double mean = (double)mri_opt(MRI_OPT_PROF_INTERVAL);
	double v = -prof_ln(u) * (mean > 1 ? mean : 1);

	if (v > 0x1p62)
		return (int64_t)1 << 62;
	return (int64_t)v;
}

MRI_STARTUP int
mri_prof_tick(size_t size)
{
	if (prof_busy) {
		prof_armed = 0;
		mri_tls_prof_left = 0;
		return 0;
	}
	if (!mri_opt(MRI_OPT_PROF)) {
		prof_armed = 0;
		mri_tls_prof_left = MRI_PROF_RECHECK;
		return 0;
	}
	if (!prof_armed) {
		/* a fresh draw: where the count starts is not a sample
		 * point (the process is memoryless) */
		if (!prof_rng) {
			uint64_t s = __atomic_fetch_add(&prof_seed_next,
							0x9e3779b97f4a7c15ull,
							__ATOMIC_RELAXED);
			prof_rng = s ? s : 1;
		}
		prof_armed = 1;
		mri_tls_prof_left =
		    (int64_t)((uint64_t)prof_draw() - (uint64_t)size);
		if (mri_tls_prof_left >= 0)
			return 0;
	}
	mri_tls_prof_left = prof_draw();
	return 1;
}

void
mri_prof_restart(void)
{
	prof_armed = 0;
	mri_tls_prof_left = 0;
}

static uint64_t
prof_hash(void *const *pcs, int n, uint64_t size, uint64_t interval)
{
	uint64_t h = size * 0x9e3779b97f4a7c15ull ^ interval;
	int i;

	for (i = 0; i < n; i++) {
		h ^= (uint64_t)(uintptr_t)pcs[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return h;
}

/* Prof lock held.  NULL when the metadata allocator is out of memory: the
 * sample is then dropped. */
static struct mri_prof_bucket *
bucket_get(void *const *pcs, int n, uint64_t size, uint64_t interval)
{
	uint64_t h = prof_hash(pcs, n, size, interval);
	struct mri_prof_bucket **head, *b;

	if (!bucket_heads) {
		bucket_heads = mri_meta_alloc(BUCKET_HEADS * sizeof(*head));
		if (!bucket_heads)
			return NULL;
	}
	head = &bucket_heads[h % BUCKET_HEADS];
	for (b = *head; b; b = b->hnext)
		if (b->hash == h && b->size == size &&
		    b->interval == interval && b->depth == (uint32_t)n &&
		    !memcmp(b->pcs, pcs, (size_t)n * sizeof(void *)))
			return b;
	b = mri_meta_alloc(sizeof(*b) + (size_t)n * sizeof(void *));
	if (!b)
		return NULL;
	b->hash = h;
	b->size = size;
	b->interval = interval;
	b->depth = (uint32_t)n;
	memcpy(b->pcs, pcs, (size_t)n * sizeof(void *));
	b->hnext = *head;
	*head = b;
	b->next = bucket_list;
	__atomic_store_n(&bucket_list, b, __ATOMIC_RELEASE);
	return b;
}

struct mri_prof_bucket *
mri_prof_buckets(void)
{
	return __atomic_load_n(&bucket_list, __ATOMIC_ACQUIRE);
}

static size_t
live_slot(uintptr_t a)
{
	a ^= a >> 21;
	a *= 0x9e3779b97f4a7c15ull;
	return (size_t)(a >> 20) & (live_cap - 1);
}

static int
live_grow(void)
{
	size_t ncap = live_cap ? live_cap * 2 : 4096, i, old = live_cap;
	struct live *ot = live_tab, *nt = mri_meta_alloc(ncap * sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	live_tab = nt;
	live_cap = ncap;
	for (i = 0; i < old; i++) {
		if (ot[i].addr != LIVE_EMPTY) {
			size_t j = live_slot(ot[i].addr);
			while (nt[j].addr != LIVE_EMPTY)
				j = (j + 1) & (ncap - 1);
			nt[j] = ot[i];
		}
	}
	return 0;
}

/* Prof lock held. */
static struct live *
live_find(uintptr_t a)
{
	size_t j;

	if (!live_cap)
		return NULL;
	for (j = live_slot(a); live_tab[j].addr != LIVE_EMPTY;
	     j = (j + 1) & (live_cap - 1))
		if (live_tab[j].addr == a)
			return &live_tab[j];
	return NULL;
}

/* Prof lock held. */
static int
live_insert(uintptr_t a, struct mri_prof_bucket *b)
{
	struct live *l = live_find(a);
	size_t j;

	if (l) { /* a stale record: its free was not seen */
		__atomic_store_n(&l->b->frees, l->b->frees + 1,
				 __ATOMIC_RELAXED);
		l->b = b;
		return 0;
	}
	if ((live_used + 1) * 2 > live_cap && live_grow() < 0)
		return -ENOMEM;
	for (j = live_slot(a); live_tab[j].addr != LIVE_EMPTY;
	     j = (j + 1) & (live_cap - 1))
		;
	live_tab[j].addr = a;
	live_tab[j].b = b;
	live_used++;
	return 0;
}

/* Prof lock held.  Knuth's deletion for linear probing (TAOCP 6.4,
 * algorithm R): each later record of the run whose home slot does not lie
 * cyclically in (hole, its slot] moves into the hole. */
static void
live_remove(struct live *l)
{
	size_t m = live_cap - 1, i = (size_t)(l - live_tab), j = i, k;

	for (;;) {
		live_tab[i].addr = LIVE_EMPTY;
		for (;;) {
			j = (j + 1) & m;
			if (live_tab[j].addr == LIVE_EMPTY) {
				live_used--;
				return;
			}
			k = live_slot(live_tab[j].addr);
			/* k cyclically in (i, j]: the record stays */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		live_tab[i] = live_tab[j];
		i = j;
	}
}

/* Count a live sample in or out of its span (prof lock).  Saturates: a
 * span that once held 255 keeps its frees on the slow path. */
static void
span_mark(struct mri_span *s, int delta)
{
	uint8_t n = __atomic_load_n(&s->sampled, __ATOMIC_RELAXED);

	if (n == 255 || (delta < 0 && n == 0))
		return;
	__atomic_store_n(&s->sampled, (uint8_t)(n + delta), __ATOMIC_RELAXED);
}

void
mri_prof_record(void *p, size_t size, const void *frame)
{
	void *pcs[MRI_PROF_MAX_DEPTH];
	struct mri_prof_bucket *b;
	struct mri_span *s;
	int n;

	prof_busy = 1;
	n = mri_prof_stack(pcs, MRI_PROF_MAX_DEPTH, frame);
	pthread_mutex_lock(&prof_lock);
	b = bucket_get(pcs, n, size,
		       (uint64_t)mri_opt(MRI_OPT_PROF_INTERVAL));
	if (b && live_insert((uintptr_t)p, b) == 0) {
		__atomic_store_n(&b->allocs, b->allocs + 1, __ATOMIC_RELAXED);
		s = mri_pagemap_lookup(p);
		if (s)
			span_mark(s, 1);
	}
	pthread_mutex_unlock(&prof_lock);
	prof_busy = 0;
}

void
mri_prof_free(void *p, struct mri_span *s)
{
	struct live *l;

	pthread_mutex_lock(&prof_lock);
	l = live_find((uintptr_t)p);
	if (l) {
		__atomic_store_n(&l->b->frees, l->b->frees + 1,
				 __ATOMIC_RELAXED);
		live_remove(l);
		span_mark(s, -1);
	}
	pthread_mutex_unlock(&prof_lock);
}

void
mri_prof_move(void *from, void *to)
{
	struct mri_prof_bucket *b;
	struct mri_span *s;
	struct live *l;

	pthread_mutex_lock(&prof_lock);
	l = live_find((uintptr_t)from);
	if (l) {
		b = l->b;
		live_remove(l);
		if (live_insert((uintptr_t)to, b) == 0 &&
		    (s = mri_pagemap_lookup(to)) != NULL)
			span_mark(s, 1);
	}
	pthread_mutex_unlock(&prof_lock);
}

void
mri_prof_scale(uint64_t n, uint64_t size, uint64_t interval,
	       uint64_t *objects, uint64_t *bytes)
{
	double w = 1;

	if (size && interval)
		w = 1 / -prof_expm1_neg(-(double)size / (double)interval);
	*objects = (uint64_t)((double)n * w + 0.5);
	*bytes = (uint64_t)((double)n * (double)size * w + 0.5);
}

void
mri_prof_atfork_prepare(void)
{
	pthread_mutex_lock(&prof_lock);
}

void
mri_prof_atfork_parent(void)
{
	pthread_mutex_unlock(&prof_lock);
}

void
mri_prof_atfork_child(void)
{
	pthread_mutex_init(&prof_lock, NULL);
}
