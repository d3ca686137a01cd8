/*
 * heap.c: the core's side of heap.h, the one door between the core and the
 * release path.  It owns the release entry point, which drains the central
 * lists before asking the page heaps (so the page heap never calls up into
 * the central lists), and the core's figures for mr_stats_get: page heap
 * counters summed over nodes, and per size class object counts from the
 * central lists and the live thread caches.
 */
#include "config.h"
#include <string.h>
#include "core/central.h"
#include "core/heap.h"
#include "core/pageheap.h"
#include "core/tcache.h"
#include "os/os.h"

size_t
mri_heap_release(size_t bytes, int advice, unsigned flags, uint64_t min_age_ns)
{
	/* Objects parked in transfer caches go back to their spans first,
	 * so spans that become empty return their pages to the page heap. */
	if (flags & MRI_RELEASE_DRAIN)
		mri_central_drain_all();
	return mri_pageheap_release(bytes, advice, flags, min_age_ns);
}

struct class_counts {
	uint64_t out[MRI_MAX_CLASSES];	  /* out of spans */
	uint64_t cached[MRI_MAX_CLASSES]; /* in thread or transfer caches */
	uint64_t spans[MRI_MAX_CLASSES];
	uint64_t refills[MRI_MAX_CLASSES], flushes[MRI_MAX_CLASSES];
};

/* Objects out of spans minus objects parked in caches = held by the
 * program.  Reads other threads' bins without their cooperation: a
 * snapshot that is off by at most the objects moved meanwhile. */
static void
class_counts(struct class_counts *k)
{
	int node;
	unsigned cls;

	memset(k, 0, sizeof(*k));
	mri_tcache_cached(k->cached);
	for (node = 0; node < MRI_MAX_NODES; node++) {
		struct mri_central *cs =
		    __atomic_load_n(&mri_centrals[node], __ATOMIC_ACQUIRE);
		if (!cs)
			continue;
		for (cls = 1; cls < MRI_MAX_CLASSES; cls++) {
			struct mri_central *c = &cs[cls];
			pthread_mutex_lock(&c->lock);
			k->out[cls] += c->out;
			k->cached[cls] += c->nxfer +
			    __atomic_load_n(&c->remote, __ATOMIC_RELAXED);
			k->spans[cls] += c->spans;
			k->refills[cls] += c->refills;
			k->flushes[cls] +=
			    __atomic_load_n(&c->flushes, __ATOMIC_RELAXED);
			pthread_mutex_unlock(&c->lock);
		}
	}
}

static uint64_t
class_in_use(const struct class_counts *k, unsigned cls)
{
	return k->out[cls] > k->cached[cls] ? k->out[cls] - k->cached[cls] : 0;
}

void
mri_heap_page_counters(struct mri_heap_counters *hc)
{
	memset(hc, 0, sizeof(*hc));
	mri_pageheap_counters(hc);
}

void
mri_heap_counters(struct mri_heap_counters *hc)
{
	struct class_counts k; /* 3 KiB: fine on any thread's stack */
	unsigned cls;

	memset(hc, 0, sizeof(*hc));
	mri_pageheap_counters(hc);
	class_counts(&k);
	hc->allocated_bytes = hc->large_bytes;
	for (cls = 1; cls < MRI_MAX_CLASSES; cls++)
		hc->allocated_bytes +=
		    class_in_use(&k, cls) * mri_class_size[cls];
}

void
mri_heap_class_stats(struct mr_stats *st)
{
	struct class_counts k;
	unsigned cls;

	class_counts(&k);
	st->nclasses = MRI_MAX_CLASSES - 1;
	for (cls = 1; cls < MRI_MAX_CLASSES; cls++) {
		struct mr_class_stats *c = &st->classes[cls - 1];
		c->size = mri_class_size[cls];
		c->span_pages = mri_class_npages[cls];
		c->spans = k.spans[cls];
		c->objects_in_use = class_in_use(&k, cls);
		c->objects_cached = k.cached[cls];
		c->refills = k.refills[cls];
		c->flushes = k.flushes[cls];
	}
}
