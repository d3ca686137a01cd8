/*
 * options.c: the option table, read from the environment without
 * allocating, and the mr_option_set/get API.  See options.h.
 *
 * The environment is untrusted input: in a setuid or setgid program
 * (getauxval(AT_SECURE) != 0) the user who runs it controls it, so every
 * MEMRECLAIM_* variable is ignored there and the defaults hold.  Elsewhere
 * each value is parsed and range-checked against the table; an unknown
 * MEMRECLAIM_* name or a bad value is reported once on stderr (one
 * write(2), nothing allocated: os/diag.h), naming the variable and why
 * (the accepted values, the nearest known name), and the default kept.
 * mr_option_set applies the same ranges.
 *
 * MEMRECLAIM_CONF holds several options in one string, like jemalloc's
 * MALLOC_CONF: "limit:2GiB,trace:1" (name:value pairs, comma-separated;
 * the names are the options', lower case).  It is read first and the
 * individual MEMRECLAIM_<NAME> variables after it, so a variable set for
 * one run overrides the shared string (as MALLOC_CONF overrides the
 * options compiled in and /etc/malloc.conf: the later, more specific
 * source wins); within the string a later pair wins.
 */
#include "config.h"
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>
#include "memreclaim.h"
#include "os/diag.h"
#include "os/options.h"
#include "common/parse.h"

enum opt_type { T_SIZE, T_BOOL, T_UINT, T_ENUM, T_STRING };

struct opt_desc {
	const char *name; /* lower case; env is MEMRECLAIM_ + upper */
	enum opt_type type;
	int64_t def;
	const char *const *enums; /* T_ENUM: NULL-terminated names */
	int64_t min, max;	  /* T_SIZE/T_UINT: accepted range */
	int bool_ok;		  /* T_ENUM: a boolean gives 0 or 1 too */
	const char *want;	  /* what a bad value is told to be */
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
static const char *const stats_names[] = {
	[MRI_STATS_OFF] = "0",
	[MRI_STATS_TEXT] = "1",
	[MRI_STATS_JSON] = "json",
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
	[MRI_OPT_STATS] = { "stats", T_ENUM, MRI_STATS_OFF, stats_names, 0, 0,
			    1, "0, 1 or json" },
	[MRI_OPT_HUGEPAGES] = { "hugepages", T_ENUM, MRI_HUGEPAGES_AUTO,
				huge_names, 0, 0 },
	[MRI_OPT_HUGEPAGE_THRESHOLD] = { "hugepage_threshold", T_SIZE,
					 64 * MiB, NULL, 0, 1024 * TiB },
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
	[MRI_OPT_SD_PRESSURE] = { "sd_pressure", T_BOOL, 1, NULL, 0, 1 },
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
		if (d->bool_ok && mrc_parse_bool(v, &i) == 0) {
			*out = i;
			return 0;
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

void
mri_env_warn(const char *name, const char *why, const char *what)
{
	char line[256];
	struct mri_diag d;

	mri_diag_begin(&d, line, sizeof(line), 0);
	/* the name only: the value is the user's, and may be long */
	mri_diag_put_safe(&d, name, 64, '=');
	mri_diag_put(&d, " ignored: ");
	mri_diag_put(&d, why);
	if (what) {
		mri_diag_put(&d, ", ");
		mri_diag_put(&d, what);
	}
	mri_diag_end(&d, STDERR_FILENO);
}

/* Edit distance of a and b (lower case compare, at most 31 bytes each;
 * longer: "far"), for "did you mean". */
static int
opt_distance(const char *a, size_t la, const char *b)
{
	int row[32], i, j;
	size_t lb = strlen(b);

	if (la > 31 || lb > 31)
		return 99;
	for (j = 0; j <= (int)lb; j++)
		row[j] = j;
	for (i = 1; i <= (int)la; i++) {
		int diag = row[0], up;

		row[0] = i;
		for (j = 1; j <= (int)lb; j++) {
			int best = diag + !opt_lower_eq(a[i - 1], b[j - 1]);

			up = row[j];
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* Settings read from the environment by name (mri_opt_env), outside the
 * table: known, so not reported as unknown. */
static const char *const opt_env_only[] = {"prof_file", NULL};

/* "unknown option (did you mean MEMRECLAIM_LIMIT?)" into buf. */
static const char *
opt_unknown_why(const char *name, size_t len, int in_conf, char *buf,
		size_t cap)
{
	const char *best = NULL;
	int i, dist, best_d = 3; /* suggest at distance 1 or 2 only */
	struct mri_diag d = {buf, cap, 0};

	for (i = 0; i < MRI_OPT__COUNT + 1; i++) {
		const char *n =
		    i < MRI_OPT__COUNT ? opt_table[i].name : opt_env_only[0];

		dist = opt_distance(name, len, n);
		if (dist < best_d) {
			best_d = dist;
			best = n;
		}
	}
	buf[0] = '\0';
	mri_diag_put(&d, "unknown option");
	if (best) {
		mri_diag_put(&d, " (did you mean ");
		if (in_conf) {
			mri_diag_put(&d, best);
		} else {
			mri_diag_put(&d, opt_env_pfx);
			for (; *best && d.n + 1 < d.cap; best++)
				d.buf[d.n++] = *best >= 'a' && *best <= 'z'
						   ? (char)(*best - 'a' + 'A')
						   : *best;
			d.buf[d.n] = '\0';
		}
		mri_diag_put(&d, "?)");
	}
	return buf;
}

/* Why a value was refused, for the warning. */
static const char *
opt_bad_why(int id, int rc, char *buf, size_t cap)
{
	const struct opt_desc *o = &opt_table[id];
	struct mri_diag d = {buf, cap, 0};
	int i;

	buf[0] = '\0';
	mri_diag_put(&d,
		     rc == -ERANGE ? "value out of range" : "invalid value");
	switch (o->type) {
	case T_SIZE:
	case T_UINT:
		mri_diag_put(&d, o->type == T_SIZE ? " (want a size "
						   : " (want a number ");
		mri_diag_put_i(&d, o->min);
		mri_diag_put(&d, "..");
		mri_diag_put_i(&d, o->max);
		mri_diag_put(&d, o->type == T_SIZE ? " bytes, as 512MiB" : "");
		if (id == MRI_OPT_CHUNK_SIZE)
			mri_diag_put(&d, ", a multiple of 2MiB");
		mri_diag_put(&d, ")");
		break;
	case T_BOOL:
		mri_diag_put(&d, " (want 0 or 1)");
		break;
	case T_ENUM:
		mri_diag_put(&d, " (want ");
		if (o->want) {
			mri_diag_put(&d, o->want);
		} else {
			for (i = 0; o->enums[i]; i++) {
				if (i)
					mri_diag_put(&d, o->enums[i + 1]
							     ? ", "
							     : " or ");
				mri_diag_put(&d, o->enums[i]);
			}
		}
		mri_diag_put(&d, ", lower case)");
		break;
	case T_STRING:
		mri_diag_put(&d, " (want 1 to 107 bytes)");
		break;
	}
	return buf;
}

/* Non-zero when the kernel says the environment comes from a less
 * privileged caller (setuid, setgid, file capabilities, LSM transition). */
static int
opt_secure(void)
{
	return getauxval(AT_SECURE) != 0;
}

static int
opt_env_only_known(const char *e)
{
	int i;

	for (i = 0; opt_env_only[i]; i++)
		if (opt_env_match(e, opt_env_only[i]))
			return 1;
	return 0;
}

/* Find option `name` (len bytes, any case): its id, or -1. */
static int
opt_find_n(const char *name, size_t len)
{
	int i;
	size_t k;

	for (i = 0; i < MRI_OPT__COUNT; i++) {
		const char *n = opt_table[i].name;

		for (k = 0; k < len && n[k] && opt_lower_eq(name[k], n[k]); k++)
			;
		if (k == len && n[k] == '\0')
			return i;
	}
	return -1;
}

static const char opt_conf_var[] = "MEMRECLAIM_CONF";

/* The value of MEMRECLAIM_CONF, or NULL. */
static const char *
opt_conf(void)
{
	return mri_env_get(opt_conf_var);
}

/* Apply MEMRECLAIM_CONF: "name:value,name:value".  Each bad pair is
 * reported ("MEMRECLAIM_CONF limt ignored: ...") and skipped. */
static void
opt_conf_apply(const char *conf)
{
	char name[80], why[200], val[128];
	const char *p = conf;

	while (*p) {
		const char *key = p, *colon, *end;
		size_t klen, vlen;
		int id, rc;

		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		p = *end ? end + 1 : end;
		if (end == key)
			continue; /* ",," or a trailing comma */
		colon = memchr(key, ':', (size_t)(end - key));
		klen = colon ? (size_t)(colon - key) : (size_t)(end - key);
		/* "MEMRECLAIM_CONF <key>" names the pair in warnings */
		{
			struct mri_diag d = {name, sizeof(name), 0};

			name[0] = '\0';
			mri_diag_put(&d, opt_conf_var);
			mri_diag_put(&d, " ");
			mri_diag_put_safe(&d, key, klen < 48 ? klen : 48, '\0');
		}
		if (!colon) {
			mri_env_warn(name, "no ':' between name and value",
				     "default kept");
			continue;
		}
		id = opt_find_n(key, klen);
		if (id < 0) {
			for (id = 0; opt_env_only[id]; id++)
				if (strlen(opt_env_only[id]) == klen &&
				    !strncmp(key, opt_env_only[id], klen))
					break;
			if (!opt_env_only[id])
				mri_env_warn(name,
					     opt_unknown_why(key, klen, 1, why,
							     sizeof(why)),
					     "default kept");
			continue;
		}
		vlen = (size_t)(end - colon - 1);
		if (vlen >= sizeof(val)) {
			mri_env_warn(name, "value too long", "default kept");
			continue;
		}
		memcpy(val, colon + 1, vlen);
		val[vlen] = '\0';
		rc = opt_set(id, val);
		if (rc < 0)
			mri_env_warn(name,
				     opt_bad_why(id, rc, why, sizeof(why)),
				     "default kept");
	}
}

void
mri_options_init(void)
{
	char **ep, why[200];
	const char *conf;
	int i, rc;

	if (__atomic_exchange_n(&opt_inited, 1, __ATOMIC_ACQ_REL))
		return;
	for (i = 0; i < MRI_OPT__COUNT; i++)
		mri_opt_values[i] = opt_table[i].def;
	if (!environ || opt_secure())
		return;
	/* A bad value keeps the default: a malloc must not fail because of
	 * a typo.  mr_option_get shows the value in force.  The shared
	 * string first, the variables over it. */
	if ((conf = opt_conf()) != NULL)
		opt_conf_apply(conf);
	for (ep = environ; *ep; ep++) {
		const char *v = NULL, *name;
		size_t len;

		if (strncmp(*ep, opt_env_pfx, sizeof(opt_env_pfx) - 1) != 0)
			continue;
		if (opt_env_match(*ep, "conf"))
			continue;
		for (i = 0; i < MRI_OPT__COUNT && v == NULL; i++)
			v = opt_env_match(*ep, opt_table[i].name);
		if (v == NULL) {
			if (opt_env_only_known(*ep))
				continue;
			name = *ep + sizeof(opt_env_pfx) - 1;
			len = strcspn(name, "=");
			mri_env_warn(
			    *ep,
			    opt_unknown_why(name, len, 0, why, sizeof(why)),
			    "default kept");
			continue;
		}
		rc = opt_set(i - 1, v);
		if (rc < 0)
			mri_env_warn(*ep,
				     opt_bad_why(i - 1, rc, why, sizeof(why)),
				     "default kept");
	}
}

const char *
mri_env_get(const char *name)
{
	size_t n = strlen(name);
	char **ep;

	if (opt_secure())
		return NULL;
	for (ep = environ; ep && *ep; ep++)
		if (!strncmp(*ep, name, n) && (*ep)[n] == '=')
			return *ep + n + 1;
	return NULL;
}

const char *
mri_opt_env(const char *name)
{
	static char conf_val[256]; /* read once at start, then at exit */
	const char *v, *conf, *p;
	char **ep;
	size_t n = strlen(name);

	/* a setuid program must not write its profile where its caller
	 * says: in secure-execution mode the environment is ignored */
	if (opt_secure())
		return NULL;
	for (ep = environ; ep && *ep; ep++)
		if ((v = opt_env_match(*ep, name)) != NULL)
			return v;
	/* then "name:value" in MEMRECLAIM_CONF (the last one wins) */
	if ((conf = opt_conf()) == NULL)
		return NULL;
	v = NULL;
	for (p = conf; *p; p += *p == ',') {
		const char *end = p + strcspn(p, ",");

		if ((size_t)(end - p) > n && !strncmp(p, name, n) &&
		    p[n] == ':' && (size_t)(end - p - n - 1) < sizeof(conf_val))
			v = p + n + 1;
		p = end;
	}
	if (!v)
		return NULL;
	n = strcspn(v, ",");
	memcpy(conf_val, v, n);
	conf_val[n] = '\0';
	return conf_val;
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
