/*
 * corestats.c: the core's figures for mr_stats_get (heap.h): page heap
 * counters summed over nodes, and per size class object counts from the
 * central lists and the live thread caches.
 */
#include "config.h"
#include <string.h>
#include "central.h"
#include "os.h"
#include "heap.h"
#include "pageheap.h"
#include "tcache.h"



/* Objects out of spans minus objects parked in caches = held by the
 * program.  Reads other threads' bins without their cooperation: a
 * snapshot that is off by at most the objects moved meanwhile. */
static void
class_counts(uint64_t *out, uint64_t *cached, uint64_t *spans,
	     uint64_t *refills, uint64_t *flushes)
{
	int node;
	unsigned cls;

	mri_tcache_cached(cached);
	for (node = 0; node < MRI_MAX_NODES; node++) {
		struct mri_central *cs = __atomic_load_n(&mri_centrals[node], __ATOMIC_ACQUIRE);
		if (!cs)
			continue;
		for (cls = 1; cls < MRI_MAX_CLASSES; cls++) {
			struct mri_central *c = &cs[cls];
			pthread_mutex_lock(&c->lock);
			out[cls] += c->out;
			cached[cls] += c->nxfer;
			spans[cls] += c->spans;
			refills[cls] += c->refills;
			flushes[cls] += c->flushes;
			pthread_mutex_unlock(&c->lock);
		}
	}
}

void
mri_heap_counters(struct mri_heap_counters *hc)
{
	uint64_t out[MRI_MAX_CLASSES] = { 0 }, cached[MRI_MAX_CLASSES] = { 0 };
	uint64_t spans[MRI_MAX_CLASSES] = { 0 }, rf[MRI_MAX_CLASSES] = { 0 };
	uint64_t fl[MRI_MAX_CLASSES] = { 0 };
	unsigned cls;

	memset(hc, 0, sizeof(*hc));
	mri_pageheap_counters(hc);
	class_counts(out, cached, spans, rf, fl);
	hc->allocated_bytes = hc->large_bytes;
	for (cls = 1; cls < MRI_MAX_CLASSES; cls++)
		if (out[cls] > cached[cls])
			hc->allocated_bytes += (out[cls] - cached[cls]) * mri_class_size[cls];
}

void
mri_heap_class_stats(struct mr_stats *st)
{
	uint64_t out[MRI_MAX_CLASSES] = { 0 }, cached[MRI_MAX_CLASSES] = { 0 };
	uint64_t spans[MRI_MAX_CLASSES] = { 0 }, rf[MRI_MAX_CLASSES] = { 0 };
	uint64_t fl[MRI_MAX_CLASSES] = { 0 };
	unsigned cls;

	class_counts(out, cached, spans, rf, fl);
	st->nclasses = MRI_MAX_CLASSES - 1;
	for (cls = 1; cls < MRI_MAX_CLASSES; cls++) {
		struct mr_class_stats *c = &st->classes[cls - 1];
		c->size = mri_class_size[cls];
		c->span_pages = mri_class_npages[cls];
		c->spans = spans[cls];
		c->objects_in_use = out[cls] > cached[cls] ? out[cls] - cached[cls] : 0;
		c->objects_cached = cached[cls];
		c->refills = rf[cls];
		c->flushes = fl[cls];
	}
}
