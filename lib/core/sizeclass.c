/*
 * sizeclass.c: the generated size class table and mr_print_classes().
 */
#include "config.h"
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include "memreclaim.h"
#include "core/sizeclass.h"

#include "core/sizeclasses.inc"

_Static_assert(MRI_NCLASSES == MRI_MAX_CLASSES, "regenerate sizeclass.h");
_Static_assert(MRI_NCLASSES <= MR_STATS_MAX_CLASSES, "stats too small");

/* Uses a stack buffer and write(2): safe to call from any state. */
MR_API int
mr_print_classes(int fd)
{
	char line[160];
	unsigned i;
	int n;

	n = snprintf(
	    line, sizeof(line),
	    "class  bytes/obj  pages  objects  batch  tail waste  max waste\n");
	if (write(fd, line, (size_t)n) != n)
		return -errno;
	for (i = 1; i < MRI_NCLASSES; i++) {
		unsigned span = mri_class_npages[i] * (unsigned)MRI_PAGE_SIZE;
		unsigned nobj = mri_class_nobj[i];
		unsigned tail = span - nobj * mri_class_size[i];
		unsigned prev = mri_class_size[i - 1];
		double maxw =
		    (double)((mri_class_size[i] - prev - 1) * nobj + tail) /
		    span * 100;

		n = snprintf(line, sizeof(line),
			     "%5u  %9u  %5u  %7u  %5u  %10u  %8.2f%%\n", i,
			     mri_class_size[i], mri_class_npages[i], nobj,
			     mri_class_batch[i], tail, maxw);
		if (write(fd, line, (size_t)n) != n)
			return -errno;
	}
	return 0;
}
