/*
 * options.c: the option table, read from the environment without
 * allocating, and the mr_option_set/get API.  See options.h.
 *
 * The environment is untrusted input: in a setuid or setgid program
 * (getauxval(AT_SECURE) != 0) the user who runs it controls it, so every
 * MEMRECLAIM_* variable is ignored there and the defaults hold.  Elsewhere
 * each value is parsed and range-checked against the table; an unknown
 * MEMRECLAIM_* name or a bad value is reported once on stderr (one
 * write(2), nothing allocated) and the default kept.  mr_option_set
 * applies the same ranges.
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>
#include "memreclaim.h"
#include "os/options.h"
#include "common/parse.h"

enum opt_type { T_SIZE, T_BOOL, T_UINT, T_ENUM, T_STRING };

struct opt_desc {
	const char *name; /* lower case; env is MEMRECLAIM_ + upper */
	enum opt_type type;
	int64_t def;
	const char *const *enums; /* T_ENUM: NULL-terminated names */
	int64_t min, max;	  /* T_SIZE/T_UINT: accepted range */
};

static const char *const purge_names[] = {"auto", "uring", "process_madvise",
					  "madvise", NULL};
/* clang-format off */
static const char *const advice_names[] = {
	[MRI_ADVICE_DONTNEED] = "dontneed",
	[MRI_ADVICE_FREE] = "free",
	NULL,
};
/* clang-format on */
/* clang-format off */
static const char *const huge_names[] = {
	[MRI_HUGEPAGES_AUTO] = "auto",
	[MRI_HUGEPAGES_ALWAYS] = "always",
	[MRI_HUGEPAGES_NEVER] = "never",
	NULL,
};
/* clang-format on */
/* clang-format off */
static const char *const numa_names[] = {
	[MRI_NUMA_PREFERRED] = "preferred",
	[MRI_NUMA_STRICT] = "strict",
	[MRI_NUMA_OFF] = "off",
	NULL,
};
/* clang-format on */

/* clang-format off */
static const char *const unwind_names[] = {
	[MRI_PROF_UNWIND_AUTO] = "auto",
	[MRI_PROF_UNWIND_FP] = "fp",
	[MRI_PROF_UNWIND_LIBUNWIND] = "libunwind",
	NULL,
};
static const char *const format_names[] = {
	[MRI_PROF_FORMAT_PROTO] = "proto",
	[MRI_PROF_FORMAT_TEXT] = "text",
	NULL,
};
/* clang-format on */

#define MiB (1024LL * 1024)
#define TiB (MiB * MiB)
/* Ranges: wide enough for any sane use, narrow enough that the arithmetic
 * done on them (ms * 1e6 in ns, percentages of byte counts, chunk
 * mappings) cannot overflow. */
/* clang-format off */
static const struct opt_desc opt_table[MRI_OPT__COUNT] = {
	[MRI_OPT_LIMIT] = { "limit", T_SIZE, 0, NULL, 0, 1024 * TiB },
	[MRI_OPT_LIMIT_HARD] = { "limit_hard", T_BOOL, 0, NULL, 0, 1 },
	[MRI_OPT_PURGE] = { "purge", T_ENUM, MRI_PURGE_AUTO, purge_names,
			    0, 0 },
	[MRI_OPT_ADVICE] = { "advice", T_ENUM, MRI_ADVICE_DONTNEED,
			     advice_names, 0, 0 },
	[MRI_OPT_RELEASE_DELAY_MS] = { "release_delay_ms", T_UINT, 1000, NULL,
				       0, 24 * 3600 * 1000LL },
	[MRI_OPT_SCAVENGER] = { "scavenger", T_BOOL, 1, NULL, 0, 1 },
	[MRI_OPT_SCAVENGER_CPU] = { "scavenger_cpu", T_UINT, 1, NULL, 0, 100 },
	/* the policy counts at most 1000; more means "never" in tests */
	[MRI_OPT_GOAL_PERCENT] = { "goal_percent", T_UINT, 10, NULL, 0,
				   1000000 },
	[MRI_OPT_LIMIT_GOAL_PERCENT] = { "limit_goal_percent", T_UINT, 95,
					 NULL, 1, 100 },
	[MRI_OPT_TRACE] = { "trace", T_BOOL, 0, NULL, 0, 1 },
	[MRI_OPT_STATS] = { "stats", T_BOOL, 0, NULL, 0, 1 },
	[MRI_OPT_HUGEPAGES] = { "hugepages", T_ENUM, MRI_HUGEPAGES_AUTO,
				huge_names, 0, 0 },
	[MRI_OPT_HUGEPAGE_THRESHOLD] = { "hugepage_threshold", T_SIZE,
					 16 * MiB, NULL, 0, 1024 * TiB },
	[MRI_OPT_NUMA] = { "numa", T_ENUM, MRI_NUMA_PREFERRED, numa_names,
			   0, 0 },
	/* a multiple of 2 MiB, checked in opt_set */
	[MRI_OPT_CHUNK_SIZE] = { "chunk_size", T_SIZE, 32 * MiB, NULL,
				 2 * MiB, 1024 * MiB },
	[MRI_OPT_DAEMON] = { "daemon", T_BOOL, 1, NULL, 0, 1 },
	[MRI_OPT_SOCKET] = { "socket", T_STRING, 0, NULL, 0, 0 },
	[MRI_OPT_STATS_INTERVAL_MS] = { "stats_interval_ms", T_UINT, 1000,
					NULL, 10, 3600 * 1000LL },
	/* the uid memreclaimd must run as, besides root (SO_PEERCRED) */
	[MRI_OPT_DAEMON_UID] = { "daemon_uid", T_UINT, 0, NULL, 0,
				 UINT32_MAX - 1 },
	[MRI_OPT_LAZY_FREE] = { "lazy_free", T_BOOL, 1, NULL, 0, 1 },
	[MRI_OPT_PROF] = { "prof", T_BOOL, 0, NULL, 0, 1 },
	/* 0 is refused in opt_set (-EINVAL: not a mean interval) */
	[MRI_OPT_PROF_INTERVAL] = { "prof_interval", T_SIZE, 512 * 1024,
				    NULL, 0, 1024 * TiB },
	[MRI_OPT_PROF_UNWIND] = { "prof_unwind", T_ENUM, MRI_PROF_UNWIND_AUTO,
				  unwind_names, 0, 0 },
	[MRI_OPT_PROF_FORMAT] = { "prof_format", T_ENUM, MRI_PROF_FORMAT_PROTO,
				  format_names, 0, 0 },
};
/* clang-format on */

int64_t mri_opt_values[MRI_OPT__COUNT];
static char opt_socket[108] = "/run/memreclaim/memreclaimd.sock";
static int opt_inited;

extern char **environ;

static int
opt_lower_eq(int c1, int c2)
{
	if (c1 >= 'A' && c1 <= 'Z')
		c1 += 'a' - 'A';
	return c1 == c2;
}

static int
opt_parse(int id, const char *v, int64_t *out)
{
	const struct opt_desc *d = &opt_table[id];
	uint64_t u;
	int i;

	switch (d->type) {
	case T_SIZE:
		if (mrc_parse_size(v, &u) < 0)
			return -EINVAL;
		if (u < (uint64_t)d->min || u > (uint64_t)d->max)
			return -ERANGE;
		*out = (int64_t)u;
		return 0;
	case T_BOOL:
		if (mrc_parse_bool(v, &i) < 0)
			return -EINVAL;
		*out = i;
		return 0;
	case T_UINT:
		u = 0;
		if (*v == '\0')
			return -EINVAL;
		for (; *v; v++) {
			if (*v < '0' || *v > '9' ||
			    u > (uint64_t)INT64_MAX / 10)
				return -EINVAL;
			u = u * 10 + (uint64_t)(*v - '0');
		}
		if (u < (uint64_t)d->min || u > (uint64_t)d->max)
			return -ERANGE;
		*out = (int64_t)u;
		return 0;
	case T_ENUM:
		for (i = 0; d->enums[i]; i++) {
			if (!strcmp(v, d->enums[i])) {
				*out = i;
				return 0;
			}
		}
		return -EINVAL;
	case T_STRING:
		break;
	}
	return -EINVAL;
}

static int
opt_set(int id, const char *v)
{
	int64_t val;
	int rc;

	if (opt_table[id].type == T_STRING) {
		size_t n = strlen(v);
		if (n == 0 || n >= sizeof(opt_socket))
			return -EINVAL;
		memcpy(opt_socket, v, n + 1);
		return 0;
	}
	rc = opt_parse(id, v, &val);
	if (rc < 0)
		return rc;
	if (id == MRI_OPT_PROF_INTERVAL && val == 0)
		return -EINVAL;
	if (id == MRI_OPT_CHUNK_SIZE && (val & ((2 << 20) - 1)))
		return -EINVAL;
	__atomic_store_n(&mri_opt_values[id], val, __ATOMIC_RELAXED);
	return 0;
}

static const char opt_env_pfx[] = "MEMRECLAIM_";

/* Match "MEMRECLAIM_<NAME>=" against opt name; return the value or NULL. */
static const char *
opt_env_match(const char *e, const char *name)
{
	size_t i;

	if (strncmp(e, opt_env_pfx, sizeof(opt_env_pfx) - 1) != 0)
		return NULL;
	e += sizeof(opt_env_pfx) - 1;
	for (i = 0; name[i]; i++)
		if (!opt_lower_eq(e[i], name[i]))
			return NULL;
	return e[i] == '=' ? e + i + 1 : NULL;
}

/* "memreclaim: MEMRECLAIM_X ignored: why, default kept" in one write(2):
 * stdio may allocate, and this runs inside the first malloc. */
static void
opt_env_warn(const char *e, const char *why)
{
	char line[160];
	size_t n = 0, i;

#define OPT_PUT(str)                                                           	for (i = 0; (str)[i] && n < sizeof(line) - 1; i++)                     		line[n++] = (str)[i];
	OPT_PUT("memreclaim: ");
	/* the name only: the value is the user's, and may be long */
	for (i = 0; e[i] && e[i] != '=' && i < 64 && n < sizeof(line) - 1; i++)
		line[n++] = e[i] >= ' ' && e[i] < 0x7f ? e[i] : '?';
	OPT_PUT(" ignored: ");
	OPT_PUT(why);
	OPT_PUT(", default kept\n");
#undef OPT_PUT
	(void)!write(STDERR_FILENO, line, n);
}

/* Non-zero when the kernel says the environment comes from a less
 * privileged caller (setuid, setgid, file capabilities, LSM transition). */
static int
opt_secure(void)
{
	return getauxval(AT_SECURE) != 0;
}

/* Settings read from the environment by name (mri_opt_env), outside the
 * table: known, so not reported as unknown. */
static const char *const opt_env_only[] = {"prof_file", NULL};

static int
opt_env_only_known(const char *e)
{
	int i;

	for (i = 0; opt_env_only[i]; i++)
		if (opt_env_match(e, opt_env_only[i]))
			return 1;
	return 0;
}

void
mri_options_init(void)
{
	char **ep;
	int i, rc;

	if (__atomic_exchange_n(&opt_inited, 1, __ATOMIC_ACQ_REL))
		return;
	for (i = 0; i < MRI_OPT__COUNT; i++)
		mri_opt_values[i] = opt_table[i].def;
	if (!environ || opt_secure())
		return;
	/* A bad value keeps the default: a malloc must not fail because of
	 * a typo.  mr_option_get shows the value in force. */
	for (ep = environ; *ep; ep++) {
		const char *v = NULL;

		if (strncmp(*ep, opt_env_pfx, sizeof(opt_env_pfx) - 1) != 0)
			continue;
		for (i = 0; i < MRI_OPT__COUNT && v == NULL; i++)
			v = opt_env_match(*ep, opt_table[i].name);
		if (v == NULL) {
			if (!opt_env_only_known(*ep))
				opt_env_warn(*ep, "unknown option");
			continue;
		}
		rc = opt_set(i - 1, v);
		if (rc < 0)
			opt_env_warn(*ep, rc == -ERANGE ? "value out of range"
							: "invalid value");
	}
}

const char *
mri_opt_env(const char *name)
{
	char **ep;
	const char *v;

	/* a setuid program must not write its profile where its caller
	 * says: in secure-execution mode the environment is ignored */
	if (opt_secure())
		return NULL;
	for (ep = environ; ep && *ep; ep++)
		if ((v = opt_env_match(*ep, name)) != NULL)
			return v;
	return NULL;
}

const char *
mri_opt_socket(void)
{
	return opt_socket;
}

static int
opt_find(const char *name)
{
	int i;

	if (!name)
		return -EINVAL;
	for (i = 0; i < MRI_OPT__COUNT; i++)
		if (!strcmp(name, opt_table[i].name))
			return i;
	return -ENOENT;
}

static void (*opt_hook)(int id);

void
mri_opt_set_hook(void (*fn)(int id))
{
	__atomic_store_n(&opt_hook, fn, __ATOMIC_RELEASE);
}

MR_API int
mr_option_set(const char *name, const char *value)
{
	int id = opt_find(name), rc;
	void (*hook)(int);

	mri_options_init();
	if (id < 0)
		return id;
	if (!value)
		return -EINVAL;
	rc = opt_set(id, value);
	hook = __atomic_load_n(&opt_hook, __ATOMIC_ACQUIRE);
	if (rc == 0 && hook)
		hook(id);
	return rc;
}

MR_API int
mr_option_get(const char *name, char *buf, size_t len)
{
	int id = opt_find(name);
	char tmp[128];
	int n;

	mri_options_init();
	if (id < 0)
		return id;
	switch (opt_table[id].type) {
	case T_STRING:
		n = snprintf(tmp, sizeof(tmp), "%s", opt_socket);
		break;
	case T_ENUM:
		n = snprintf(tmp, sizeof(tmp), "%s",
			     opt_table[id].enums[mri_opt(id)]);
		break;
	default:
		n = snprintf(tmp, sizeof(tmp), "%lld", (long long)mri_opt(id));
		break;
	}
	if (!buf || (size_t)n + 1 > len)
		return -ERANGE;
	memcpy(buf, tmp, (size_t)n + 1);
	return n;
}
