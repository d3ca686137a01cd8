/*
 * daemon_test.c: fake trees and the suite runner for the daemon's Check
 * tests (see daemon_test.h).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon_test.h"

static char dt_root[PATH_MAX];

void
dt_root_make(const char *name)
{
	snprintf(dt_root, sizeof(dt_root), "/tmp/%s.XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(dt_root));
}

const char *
dt_path(const char *rel)
{
	static char path[3][PATH_MAX * 2];
	static int i;

	i = (i + 1) % 3;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dt_root, rel);
	return path[i];
}

void
dt_put(const char *rel, const char *text)
{
	char path[PATH_MAX * 2], *s;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dt_root, rel);
	for (s = path + strlen(dt_root) + 1; (s = strchr(s, '/')) != NULL;
	     s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

void
dt_rm(const char *rel)
{
	char cmd[PATH_MAX * 2 + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", dt_root, rel);
	ck_assert_int_eq(system(cmd), 0);
}

void
dt_root_remove(void)
{
	dt_rm("");
}
