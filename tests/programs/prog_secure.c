/*
 * prog_secure.c: what a program linked with libmemreclaim took from its
 * environment.  Prints the options in force that a hostile caller would
 * want to set (limit, limit_hard, chunk_size, socket, daemon_uid) and how
 * many of eight malloc(8 MiB) succeed.  prog_secure.sh runs it plainly
 * and installed setuid root, started by an unprivileged user.
 */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memreclaim.h"

int
main(void)
{
	static const char *const names[] = {"limit", "limit_hard", "chunk_size",
					    "socket", "daemon_uid"};
	void *p[8];
	char buf[128];
	size_t i;
	int ok = 0;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (mr_option_get(names[i], buf, sizeof(buf)) < 0)
			strcpy(buf, "?");
		printf("%s=%s\n", names[i], buf);
	}
	for (i = 0; i < 8; i++) {
		p[i] = malloc(8 << 20);
		if (p[i] != NULL) {
			memset(p[i], 1, 8 << 20);
			ok++;
		}
	}
	printf("malloc_ok=%d\n", ok);
	for (i = 0; i < 8; i++)
		free(p[i]);
	return 0;
}
