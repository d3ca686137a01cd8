/*
 * fuzz_mountinfo.c: cgroup discovery (common/cgpath.c): a mountinfo text
 * searched for the memory and cgroup2 mounts (with \040-style escapes), a
 * /proc/PID/cgroup text, and the unescaper.  Outputs must stay within
 * their buffers and be NUL-terminated.
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "common/cgpath.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char mnt[256], root[256], mem[512], v2[512], out[64];
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (mrc_cgpath_mountinfo_find(text, "memory", mnt, sizeof(mnt), root,
				      sizeof(root)) == 0 &&
	    (strlen(mnt) >= sizeof(mnt) || strlen(root) >= sizeof(root)))
		abort();
	(void)mrc_cgpath_mountinfo_find(text, NULL, mnt, sizeof(mnt), NULL, 0);
	if (mrc_cgpath_proc_cgroup(text, "memory", mem, sizeof(mem), v2,
				   sizeof(v2)) == 0) {
		if (strlen(mem) >= sizeof(mem) || strlen(v2) >= sizeof(v2))
			abort();
		mrc_cgpath_strip_root(mem, "/");
	}
	(void)mrc_cgpath_unescape(out, sizeof(out), text,
				  size < 200 ? size : 200);
	free(text);
	return 0;
}
