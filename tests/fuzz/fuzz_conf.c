/*
 * fuzz_conf.c: memreclaim.conf parsing (daemon/conf.c, with inih).  The
 * input is the file's text; every error message must be a proper
 * NUL-terminated line, and a file that loads must give values within the
 * documented ranges.
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "conf.h"

static void
fuzz_err(void *arg, const char *msg)
{
	size_t *total = arg;

	*total += strlen(msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c;
	size_t total = 0;
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (conf_load_string("fuzz.conf", text, &c, fuzz_err, &total) == 0 &&
	    (c.tick_ms < 100 || c.tick_ms > 60000 || c.max_clients < 1 ||
	     c.nsections > CONF_MAX_SECTIONS))
		abort();
	free(text);
	return 0;
}
