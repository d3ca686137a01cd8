/*
 * tcache.c: per-thread caches (see tcache.h).
 */
#include "config.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include "core/central.h"
#include "core/init.h"
#include "core/meta.h"
#include "core/pagemap.h"
#include "core/tcache.h"

/* All bins 0 of 0: every fast-path test fails on it.  The TLS image
 * holds its address (a relative relocation the dynamic linker applies
 * before it copies the image for each thread). */
struct mri_tcache mri_tcache_none = {.node = -1};
__thread struct mri_tcache *mri_tls_tcache MRI_TLS_IE = &mri_tcache_none;
static uint32_t tc_next_id; /* last id given out */
uint8_t mri_tcache_class[MRI_TCACHE_NSTEPS];

enum { TC_NONE, TC_BUSY, TC_ACTIVE, TC_DEAD };
static __thread uint8_t tc_state MRI_TLS_IE;

static pthread_mutex_t tc_mu = PTHREAD_MUTEX_INITIALIZER;
static struct mri_tcache *tc_live; /* registry (tc_mu) */
static struct mri_pool tc_pool;	   /* size set by mri_tcache_init */
static pthread_key_t tc_key;
static size_t tc_nslots;
static uint32_t tc_maxcap[MRI_MAX_CLASSES]; /* slots reserved per bin */
/*
 * A cache's storage holds two areas.  The first packs every bin's starting
 * capacity (two batches) side by side, so a thread that uses a few classes
 * touches a page or two of slots, not a page per class.  The second
 * reserves each bin's maximum; a bin moves there (a copy of at most two
 * batches) the first time it grows.  Offsets in slots from storage.
 */
static uint32_t tc_startoff[MRI_MAX_CLASSES], tc_bigoff[MRI_MAX_CLASSES];

uint32_t
mri_tcache_maxcap(unsigned cls)
{
	uint32_t start = 2u * mri_class_batch[cls];
	uint32_t m = (uint32_t)(MRI_TCACHE_MAXBYTES / mri_class_size[cls]);

	if (m > MRI_TCACHE_MAXOBJ)
		m = MRI_TCACHE_MAXOBJ;
	return m > start ? m : start;
}

static void tcache_destroy(void *arg);

int
mri_tcache_init(void)
{
	unsigned cls, i;

	/* Before any cache exists: a thread reads it only through its own
	 * cache, made after mri_init published what init wrote. */
	for (i = 0; i < MRI_TCACHE_NSTEPS; i++)
		mri_tcache_class[i] = (uint8_t)mri_size_class(i * 16);
	tc_nslots = 0;
	for (cls = 1; cls < MRI_MAX_CLASSES; cls++) {
		tc_startoff[cls] = (uint32_t)tc_nslots;
		tc_nslots += 2u * mri_class_batch[cls];
	}
	/* Slots for every bin's maximum: a few hundred KiB of address space
	 * per cache, touched only as far as bins actually grow. */
	for (cls = 1; cls < MRI_MAX_CLASSES; cls++) {
		tc_maxcap[cls] = mri_tcache_maxcap(cls);
		tc_bigoff[cls] = (uint32_t)tc_nslots;
		tc_nslots += tc_maxcap[cls];
	}
	tc_pool.size =
	    (sizeof(struct mri_tcache) + tc_nslots * sizeof(void *) + 63) &
	    ~(size_t)63;
	tc_pool.free = NULL;
	/* Keys below PTHREAD_KEY_2NDLEVEL_SIZE need no allocation. */
	return pthread_key_create(&tc_key, tcache_destroy) == 0 ? 0 : -EAGAIN;
}

struct mri_tcache *
mri_tcache_get(void)
{
	struct mri_tcache *tc = mri_tls_tcache;
	unsigned cls;

	if (tc != &mri_tcache_none)
		return tc;
	if (tc_state != TC_NONE)
		return NULL;
	tc_state = TC_BUSY;
	mri_init();
	if (!__atomic_load_n(&mri_inited, __ATOMIC_ACQUIRE)) {
		tc_state = TC_NONE;
		return NULL;
	}
	/* The slots need no zeroing: a bin reads only below its count. */
	tc = mri_pool_get_prefix(&tc_pool, sizeof(*tc));
	if (!tc) {
		tc_state = TC_NONE;
		return NULL;
	}
	/* One batch until the thread allocates from the bin (a refill). */
	for (cls = 1; cls < MRI_MAX_CLASSES; cls++) {
		tc->bins[cls].slots = tc->storage + tc_startoff[cls];
		tc->bins[cls].cap = mri_class_batch[cls];
	}
	memset(tc->low, 0, sizeof(tc->low));
	memset(tc->used, 0, sizeof(tc->used));
	tc->gc_left = MRI_TCACHE_GC_BYTES;
	tc->node = mri_current_node();
	/* A recycled cache gets a new id: the spans the last thread
	 * fetched from are not this one's.  Skips 0 (no owner) on wrap. */
	do
		tc->id = __atomic_add_fetch(&tc_next_id, 1, __ATOMIC_RELAXED);
	while (tc->id == 0);
	pthread_mutex_lock(&tc_mu);
	tc->next = tc_live;
	if (tc_live)
		tc_live->prev = tc;
	tc_live = tc;
	pthread_mutex_unlock(&tc_mu);
	/* May allocate (second-level key arrays): tc_state is BUSY, so such
	 * a nested malloc goes to the central lists. */
	pthread_setspecific(tc_key, tc);
	mri_tls_tcache = tc;
	tc_state = TC_ACTIVE;
	return tc;
}

/* Return objs to central lists, each to its own node's (objects of other
 * nodes reach a cache through cross-node frees). */
static void
tcache_return(unsigned cls, void **objs, unsigned n)
{
	unsigned i, j;

	if (__atomic_load_n(&mri_nnodes, __ATOMIC_RELAXED) <= 1) {
		mri_central_return(0, cls, objs, n);
		return;
	}
	for (i = 0; i < n; i = j) {
		int node = mri_pagemap_lookup(objs[i])->node;
		for (j = i + 1;
		     j < n && mri_pagemap_lookup(objs[j])->node == node; j++)
			;
		mri_central_return(node, cls, objs + i, j - i);
	}
}

/* Mark s as fetched from by tc (a hint: racing writers may win). */
static inline void
tcache_own(const struct mri_tcache *tc, void *obj)
{
	struct mri_span *s = mri_pagemap_lookup(obj);

	if (__atomic_load_n(&s->owner, __ATOMIC_RELAXED) != tc->id)
		__atomic_store_n(&s->owner, tc->id, __ATOMIC_RELAXED);
}

/* Add a batch from central on top of bin cls; returns the count. */
static unsigned
tcache_fetch(struct mri_tcache *tc, unsigned cls)
{
	struct mri_bin *b = &tc->bins[cls];
	unsigned got;

	got = mri_central_fetch(tc->node, cls, b->slots + b->n,
				mri_class_batch[cls]);
	if (!got)
		return 0;
	/* A batch comes from one span or two (the end of one, the start
	 * of the next); objects from the transfer cache may come from
	 * more, which then stay marked with their last fetcher. */
	tcache_own(tc, b->slots[b->n]);
	tcache_own(tc, b->slots[b->n + got - 1]);
	mri_bin_set_n(b, b->n + got);
	return got;
}

/* A refill or an overflow of bin cls, which moves a batch: once such
 * batches add up to MRI_TCACHE_GC_BYTES, a GC pass.  Counted in bytes,
 * as jemalloc does, so the passes come as often for a thread's memory
 * whatever its sizes: a thread moving 16-byte objects seldom, one moving
 * 8 KiB ones (whose idle objects hold far more memory) often. */
static inline void
tcache_event(struct mri_tcache *tc, unsigned cls)
{
	uint32_t bytes = (uint32_t)mri_class_batch[cls] * mri_class_size[cls];

	if (tc->gc_left <= bytes)
		mri_tcache_gc(tc);
	else
		tc->gc_left -= bytes;
}

void *
mri_tcache_refill(struct mri_tcache *tc, unsigned cls)
{
	if (__atomic_load_n(&mri_nnodes, __ATOMIC_RELAXED) > 1)
		tc->node = mri_current_node();
	/* the bin ran empty: its low-water mark is 0, and it is in use, so
	 * it holds two batches at least */
	tc->low[cls] = 0;
	tc->used[cls] = 2;
	if (tc->bins[cls].cap < 2u * mri_class_batch[cls])
		tc->bins[cls].cap = 2u * mri_class_batch[cls];
	tcache_event(tc, cls);
	if (!tcache_fetch(tc, cls))
		return NULL;
	return mri_bin_pop(&tc->bins[cls]);
}

/*
 * Give back 3/4 of what each bin did not use since the last pass (its
 * low-water mark), the oldest objects, and shrink its capacity by as many
 * whole batches (not below two), so the budget goes to bins in use.
 */
void
mri_tcache_gc(struct mri_tcache *tc)
{
	unsigned cls;

	tc->gc_left = MRI_TCACHE_GC_BYTES;
	for (cls = 1; cls < MRI_MAX_CLASSES; cls++) {
		struct mri_bin *b = &tc->bins[cls];
		uint32_t low = tc->low[cls], g, start, drop;

		if (tc->used[cls])
			tc->used[cls]--;
		if (low > b->n)
			low = b->n;
		if (low != 0) {
			drop = low - low / 4;
			mri_tcache_flush(tc, cls, b->n - drop);
			g = mri_class_batch[cls];
			start = 2u * g;
			drop = drop / g * g;
			if (b->cap - drop < start)
				drop = b->cap > start ? b->cap - start : 0;
			b->cap -= drop;
			tc->cap_bytes -= (size_t)drop * mri_class_size[cls];
		}
		tc->low[cls] = b->n;
	}
}

void
mri_tcache_free(struct mri_tcache *tc, struct mri_span *s, void *p)
{
	unsigned cls = s->cls;
	struct mri_bin *b = &tc->bins[cls];
	int saved;

	if (b->n != 0 ||
	    __atomic_load_n(&s->owner, __ATOMIC_RELAXED) == tc->id) {
		mri_bin_push(b, p);
		return;
	}
	/* Another cache's object into an empty bin: the next malloc would
	 * return it.  Put it at the bottom, a batch of our own above it
	 * (its slots have room for two batches whatever its capacity; one
	 * over it, the next free flushes).  Without memory for a batch,
	 * keep it anyway.  free() leaves errno alone. */
	saved = errno;
	mri_bin_push(b, p);
	(void)tcache_fetch(tc, cls);
	errno = saved;
}

/*
 * The budget is spent and bin cls would grow: take one batch of capacity
 * from another bin that grew (round robin, like tcmalloc's steal),
 * flushing what it holds beyond its new capacity.  A class the thread
 * stopped using thus gives its capacity, and its objects go back to their
 * spans, to the class it uses now: a thread that moves from one size to
 * the next (a phase of a program) does not keep the first size's objects
 * cached for ever, and the bound stays MRI_TCACHE_BUDGET.  One batch per
 * overflow, so a thread using every class shifts capacity slowly.
 */
static void
tcache_steal(struct mri_tcache *tc, unsigned cls)
{
	unsigned tries, v = tc->steal_next;

	for (tries = 1; tries < MRI_MAX_CLASSES; tries++) {
		struct mri_bin *b;
		uint32_t g;

		v = v + 1 < MRI_MAX_CLASSES ? v + 1 : 1;
		b = &tc->bins[v];
		g = mri_class_batch[v];
		if (v == cls || b->cap < 3u * g)
			continue;
		if (b->n > b->cap - g)
			mri_tcache_flush(tc, v, b->cap - g);
		b->cap -= g;
		tc->cap_bytes -= (size_t)g * mri_class_size[v];
		break;
	}
	tc->steal_next = v;
}

int
mri_tcache_overflow(struct mri_tcache *tc, unsigned cls)
{
	struct mri_bin *b = &tc->bins[cls];
	uint32_t grow = mri_class_batch[cls];
	size_t bytes = (size_t)grow * mri_class_size[cls];
	int may;

	tcache_event(tc, cls);
	if (b->n < b->cap)
		return 1; /* the GC pass made room */
	/* a bin the thread does not allocate from does not grow */
	may = tc->used[cls] && b->cap + grow <= tc_maxcap[cls];
	if (may && tc->cap_bytes + bytes > MRI_TCACHE_BUDGET)
		tcache_steal(tc, cls);
	if (may && tc->cap_bytes + bytes <= MRI_TCACHE_BUDGET) {
		if (b->slots == tc->storage + tc_startoff[cls]) {
			void **big = tc->storage + tc_bigoff[cls];
			memcpy(big, b->slots, b->n * sizeof(void *));
			b->slots = big;
		}
		b->cap += grow;
		tc->cap_bytes += bytes;
		return 1;
	}
	/* Half stays for the thread's next mallocs; a bin the thread does
	 * not allocate from (a consumer's) sends all but one on, so its
	 * batches go whole, and the bin is never empty again (a free into
	 * an empty bin may fetch, above). */
	mri_tcache_flush(tc, cls, tc->used[cls] ? b->cap / 2 : 1);
	return 0;
}

void
mri_tcache_flush(struct mri_tcache *tc, unsigned cls, unsigned keep)
{
	struct mri_bin *b = &tc->bins[cls];
	unsigned k;

	if (b->n <= keep)
		return;
	k = b->n - keep;
	tcache_return(cls, b->slots, k);
	memmove(b->slots, b->slots + k, keep * sizeof(void *));
	mri_bin_set_n(b, keep);
	if (tc->low[cls] > keep)
		tc->low[cls] = keep;
}

static void
tcache_destroy(void *arg)
{
	struct mri_tcache *tc = arg;
	unsigned cls;

	tc_state = TC_DEAD;
	mri_tls_tcache = &mri_tcache_none;
	for (cls = 1; cls < MRI_MAX_CLASSES; cls++)
		mri_tcache_flush(tc, cls, 0);
	pthread_mutex_lock(&tc_mu);
	if (tc->prev)
		tc->prev->next = tc->next;
	else
		tc_live = tc->next;
	if (tc->next)
		tc->next->prev = tc->prev;
	pthread_mutex_unlock(&tc_mu);
	mri_pool_put(&tc_pool, tc);
}

void
mri_tcache_cached(uint64_t *cached)
{
	struct mri_tcache *tc;
	unsigned cls;

	pthread_mutex_lock(&tc_mu);
	for (tc = tc_live; tc; tc = tc->next)
		for (cls = 1; cls < MRI_MAX_CLASSES; cls++)
			cached[cls] +=
			    __atomic_load_n(&tc->bins[cls].n, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&tc_mu);
}

void
mri_tcache_lock(void)
{
	pthread_mutex_lock(&tc_mu);
}

void
mri_tcache_unlock(void)
{
	pthread_mutex_unlock(&tc_mu);
}

/* In the child only the forking thread exists.  The other caches' objects
 * are lost (bounded: two batches per class per thread); their records are
 * dropped from the registry so stats stay true.  Their memory is not
 * reused: a cache record is small and fork is rare. */
void
mri_tcache_atfork_child(void)
{
	struct mri_tcache *me = mri_tls_tcache;

	if (me == &mri_tcache_none)
		me = NULL;
	tc_live = me;
	pthread_mutex_unlock(&tc_mu);
	if (me)
		me->next = me->prev = NULL;
}
