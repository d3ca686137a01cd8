/*
 * conf.c: defaults and parsing of memreclaim.conf (see conf.h).
 *
 * inih does the INI syntax.  Its handler does not receive line numbers in
 * the Debian build, so lines are fed through our own reader, which counts
 * them and also reports syntax errors itself: inih only returns the first
 * bad line, and we promise to report every error.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "common/parse.h"

#include "conf.h"

struct conf_parse {
	struct conf *c;
	const char *name; /* file name for messages */
	conf_err_fn err;
	void *arg;
	int line; /* line being parsed */
	int errors;
	struct conf_cg *cur; /* section being filled, NULL: global */
	int in_global;	     /* inside [memreclaimd] */
	int bad_section;     /* skip keys of an unknown section */
	int global_line;     /* where [memreclaimd] starts */
	FILE *fp;	     /* file mode */
	const char *text;    /* string mode */
};

static void
conf_error(struct conf_parse *p, const char *fmt, ...)
{
	char msg[512];
	int n;
	va_list ap;

	n = snprintf(msg, sizeof(msg), "%s:%d: ", p->name, p->line);
	/* a long file name leaves no room: the message is cut, not spilled */
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = (int)sizeof(msg) - 1;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	p->errors++;
	if (p->err)
		p->err(p->arg, msg);
}

static void
conf_cg_defaults(struct conf_cg *g)
{
	memset(g, 0, sizeof(*g));
	g->watch = 1;
	g->headroom_percent = 10.0;
	g->headroom_min_bytes = 32ull << 20;
	g->pressure_target = 0.5;
	g->pressure_urgent = 10.0;
	g->full_urgent = 5.0;
	g->cooldown_ms = 5000;
	g->max_cooldown_ms = 60000;
	g->min_trim_bytes = 1ull << 20;
	g->soft_limits = 1;
	g->order = CONF_ORDER_OOM;
	g->trigger_stall_ms = 100;
	g->trigger_window_ms = 2000;
	g->events = 1;
	g->near_oom_margin_bytes = 16ull << 20;
}

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket, sizeof(c->socket), "%s",
		 "/run/memreclaim/memreclaimd.sock");
	c->socket_mode = 0660;
	c->tick_ms = 1000;
	snprintf(c->metrics, sizeof(c->metrics), "127.0.0.1:9464");
	c->log_level = LOG_INFO;
	c->max_clients = 256;
	c->max_clients_per_uid = 64;
	c->metrics_top_clients = 20;
	c->max_frame_rate = 50;
	c->trim_deadline_ms = 2000;
	snprintf(c->proc_root, sizeof(c->proc_root), "/proc");
	conf_cg_defaults(&c->defaults);
}

static int
conf_u32(const char *v, uint32_t lo, uint32_t hi, uint32_t *out)
{
	unsigned long long x;
	char *end;

	if (!isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end != '\0' || x < lo || x > hi)
		return -EINVAL;
	*out = (uint32_t)x;
	return 0;
}

static int
conf_pct(const char *v, double *out)
{
	char *end;
	double x;

	if (!isdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	x = strtod(v, &end);
	if (errno || *end != '\0' || !(x >= 0.0 && x <= 100.0))
		return -EINVAL;
	*out = x;
	return 0;
}

static int
conf_string(char *dst, size_t len, const char *v)
{
	if (strlen(v) >= len)
		return -ENAMETOOLONG;
	strcpy(dst, v);
	return 0;
}

/* Keys valid per cgroup (and as defaults in [memreclaimd]).
 * Returns 1 handled, 0 unknown key, -1 bad value (reported). */
static int
conf_cg_key(struct conf_parse *p, struct conf_cg *g, const char *k,
	    const char *v)
{
	int rc = 1, bad = 0;

	if (!strcmp(k, "watch"))
		bad = mrc_parse_bool(v, &g->watch) < 0;
	else if (!strcmp(k, "headroom_percent"))
		bad = conf_pct(v, &g->headroom_percent) < 0 ||
		      g->headroom_percent > 90.0;
	else if (!strcmp(k, "headroom_min"))
		bad = mrc_parse_size(v, &g->headroom_min_bytes) < 0;
	else if (!strcmp(k, "pressure_target"))
		bad = conf_pct(v, &g->pressure_target) < 0;
	else if (!strcmp(k, "pressure_urgent"))
		bad = conf_pct(v, &g->pressure_urgent) < 0;
	else if (!strcmp(k, "full_urgent"))
		bad = conf_pct(v, &g->full_urgent) < 0;
	else if (!strcmp(k, "cooldown_ms"))
		bad = conf_u32(v, 0, 3600000, &g->cooldown_ms) < 0;
	else if (!strcmp(k, "max_cooldown_ms"))
		bad = conf_u32(v, 0, 3600000, &g->max_cooldown_ms) < 0;
	else if (!strcmp(k, "min_trim"))
		bad = mrc_parse_size(v, &g->min_trim_bytes) < 0;
	else if (!strcmp(k, "soft_limits"))
		bad = mrc_parse_bool(v, &g->soft_limits) < 0;
	else if (!strcmp(k, "order")) {
		if (!strcmp(v, "oom_score_adj"))
			g->order = CONF_ORDER_OOM;
		else if (!strcmp(v, "idle"))
			g->order = CONF_ORDER_IDLE;
		else
			bad = 1;
	} else if (!strcmp(k, "trigger_stall_ms"))
		bad = conf_u32(v, 1, 10000000, &g->trigger_stall_ms) < 0;
	else if (!strcmp(k, "trigger_window_ms"))
		bad = conf_u32(v, 500, 10000000, &g->trigger_window_ms) < 0;
	else if (!strcmp(k, "events"))
		bad = mrc_parse_bool(v, &g->events) < 0;
	else if (!strcmp(k, "near_oom_margin"))
		bad = mrc_parse_size(v, &g->near_oom_margin_bytes) < 0;
	else
		rc = 0;
	if (bad) {
		conf_error(p, "bad value for %s: '%s'", k, v);
		return -1;
	}
	return rc;
}

static int
conf_global_key(struct conf_parse *p, const char *k, const char *v)
{
	struct conf *c = p->c;
	int bad = 0;

	if (!strcmp(k, "socket"))
		bad = v[0] != '/' ||
		      conf_string(c->socket, sizeof(c->socket), v) < 0;
	else if (!strcmp(k, "socket_mode")) {
		char *end;
		unsigned long m;

		errno = 0;
		m = strtoul(v, &end, 8);
		bad = errno || *end != '\0' || end == v || m > 0777;
		if (!bad)
			c->socket_mode = (mode_t)m;
	} else if (!strcmp(k, "socket_group"))
		bad = conf_string(c->socket_group, sizeof(c->socket_group), v) <
		      0;
	else if (!strcmp(k, "tick_ms"))
		bad = conf_u32(v, 100, 60000, &c->tick_ms) < 0;
	else if (!strcmp(k, "metrics")) {
		const char *colon = strrchr(v, ':');

		bad = v[0] != '\0' &&
		      (colon == NULL || colon == v || atoi(colon + 1) <= 0 ||
		       atoi(colon + 1) > 65535);
		if (!bad)
			bad =
			    conf_string(c->metrics, sizeof(c->metrics), v) < 0;
	} else if (!strcmp(k, "log_level")) {
		static const struct {
			const char *n;
			int l;
		} lv[] = {
		    {"error", LOG_ERR},	    {"warning", LOG_WARNING},
		    {"notice", LOG_NOTICE}, {"info", LOG_INFO},
		    {"debug", LOG_DEBUG},
		};
		size_t i;

		bad = 1;
		for (i = 0; i < sizeof(lv) / sizeof(lv[0]); i++)
			if (!strcmp(v, lv[i].n)) {
				c->log_level = lv[i].l;
				bad = 0;
			}
	} else if (!strcmp(k, "max_clients"))
		bad = conf_u32(v, 1, 65536, &c->max_clients) < 0;
	else if (!strcmp(k, "metrics_top_clients"))
		bad = conf_u32(v, 0, 65536, &c->metrics_top_clients) < 0;
	else if (!strcmp(k, "max_clients_per_uid"))
		bad = conf_u32(v, 1, 65536, &c->max_clients_per_uid) < 0;
	else if (!strcmp(k, "client_group"))
		bad = conf_string(c->client_group, sizeof(c->client_group), v) <
		      0;
	else if (!strcmp(k, "max_frame_rate"))
		bad = conf_u32(v, 1, 100000, &c->max_frame_rate) < 0;
	else if (!strcmp(k, "trim_deadline_ms"))
		bad = conf_u32(v, 1, 600000, &c->trim_deadline_ms) < 0;
	else if (!strcmp(k, "memory_root"))
		bad =
		    (v[0] != '\0' && v[0] != '/') ||
		    conf_string(c->memory_root, sizeof(c->memory_root), v) < 0;
	else if (!strcmp(k, "unified_root"))
		bad = (v[0] != '\0' && v[0] != '/') ||
		      conf_string(c->unified_root, sizeof(c->unified_root), v) <
			  0;
	else if (!strcmp(k, "proc_root"))
		bad = v[0] != '/' ||
		      conf_string(c->proc_root, sizeof(c->proc_root), v) < 0;
	else {
		int r = conf_cg_key(p, &c->defaults, k, v);

		if (r == 0)
			conf_error(p, "unknown key '%s' in [memreclaimd]", k);
		return 1;
	}
	if (bad)
		conf_error(p, "bad value for %s: '%s'", k, v);
	return 1;
}

/* Start a section: [memreclaimd] or [cgroup PATTERN]. */
static void
conf_section(struct conf_parse *p, const char *name)
{
	p->cur = NULL;
	p->in_global = 0;
	p->bad_section = 0;
	if (!strcmp(name, "memreclaimd")) {
		p->in_global = 1;
		p->global_line = p->line;
		return;
	}
	if (!strncmp(name, "cgroup ", 7)) {
		const char *pat = name + 7;
		struct conf_cg *g;

		while (*pat == ' ')
			pat++;
		if (*pat != '/') {
			conf_error(
			    p, "cgroup pattern must start with '/': '%s'", pat);
			p->bad_section = 1;
			return;
		}
		if (p->c->nsections == CONF_MAX_SECTIONS) {
			conf_error(p, "too many [cgroup] sections (max %d)",
				   CONF_MAX_SECTIONS);
			p->bad_section = 1;
			return;
		}
		g = &p->c->sections[p->c->nsections++];
		/* sections inherit what [memreclaimd] set above them */
		*g = p->c->defaults;
		snprintf(g->pattern, sizeof(g->pattern), "%s", pat);
		g->line = p->line;
		p->cur = g;
		return;
	}
	conf_error(p, "unknown section [%s]", name);
	p->bad_section = 1;
}

static int
conf_handler(void *user, const char *section, const char *name,
	     const char *value)
{
	struct conf_parse *p = user;

	if (name == NULL) { /* new section (INI_CALL_HANDLER_ON_NEW_SECTION) */
		conf_section(p, section);
		return 1;
	}
	/* an empty key was reported by conf_check_line already */
	if (p->bad_section || name[0] == '\0')
		return 1;
	if (section[0] == '\0') {
		conf_error(p, "key '%s' outside a section", name);
		return 1;
	}
	if (p->in_global)
		return conf_global_key(p, name, value);
	if (p->cur) {
		int r = conf_cg_key(p, p->cur, name, value);

		if (r == 0)
			conf_error(p, "unknown key '%s' in [cgroup %s]", name,
				   p->cur->pattern);
	}
	return 1;
}

/* Our reader: count lines and report what inih would reject. */
static void
conf_check_line(struct conf_parse *p, const char *s)
{
	const char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '\n' || *s == ';' || *s == '#')
		return;
	if (*s == '[') {
		e = strchr(s, ']');
		if (e == NULL)
			conf_error(p, "syntax error: missing ']'");
		else if (e == s + 1)
			conf_error(p, "syntax error: empty section name");
		else {
			char name[300];
			size_t n = (size_t)(e - s - 1);

			/* track sections here too: inih reports them only
			 * when a key follows */
			if (n >= sizeof(name))
				n = sizeof(name) - 1;
			memcpy(name, s + 1, n);
			name[n] = '\0';
			conf_section(p, name);
		}
		return;
	}
	if (strchr(s, '=') == NULL)
		conf_error(p, "syntax error: expected 'key = value'");
	else if (*s == '=')
		conf_error(p, "syntax error: missing key before '='");
}

static char *
conf_reader(char *str, int num, void *stream)
{
	struct conf_parse *p = stream;
	char *r;

	if (p->fp) {
		r = fgets(str, num, p->fp);
	} else {
		const char *nl;
		size_t n;

		if (*p->text == '\0')
			return NULL;
		nl = strchr(p->text, '\n');
		n = nl ? (size_t)(nl - p->text) + 1 : strlen(p->text);
		if (n > (size_t)num - 1)
			n = (size_t)num - 1;
		memcpy(str, p->text, n);
		str[n] = '\0';
		p->text += n;
		r = str;
	}
	if (r == NULL)
		return NULL;
	p->line++;
	if (strlen(str) == (size_t)num - 1 && str[num - 2] != '\n') {
		conf_error(p, "line too long (max %d characters)", num - 2);
		/* drop the rest of the line */
		if (p->fp) {
			int ch;

			while ((ch = fgetc(p->fp)) != EOF && ch != '\n')
				;
		} else {
			while (*p->text && *p->text != '\n')
				p->text++;
			if (*p->text)
				p->text++;
		}
		str[0] = '\0';
		return str;
	}
	conf_check_line(p, str);
	return str;
}

/* inih calls the handler for keys only; section changes are tracked by
 * conf_check_line, so the handler ignores `section` except for "". */
static int
conf_key_handler(void *user, const char *section, const char *name,
		 const char *value)
{
	if (name == NULL)
		return 1;
	return conf_handler(user, section, name, value);
}

static int
conf_check_semantics(struct conf_parse *p)
{
	int i;

	for (i = -1; i < p->c->nsections; i++) {
		const struct conf_cg *g =
		    i < 0 ? &p->c->defaults : &p->c->sections[i];

		p->line = i < 0 ? p->global_line : g->line;
		if (g->pressure_urgent < g->pressure_target)
			conf_error(p,
				   "pressure_urgent (%g) is below "
				   "pressure_target (%g)",
				   g->pressure_urgent, g->pressure_target);
		if (g->max_cooldown_ms < g->cooldown_ms)
			conf_error(p,
				   "max_cooldown_ms (%u) is below "
				   "cooldown_ms (%u)",
				   g->max_cooldown_ms, g->cooldown_ms);
		if (g->trigger_stall_ms > g->trigger_window_ms)
			conf_error(p,
				   "trigger_stall_ms (%u) exceeds "
				   "trigger_window_ms (%u)",
				   g->trigger_stall_ms, g->trigger_window_ms);
	}
	return p->errors;
}

static int
conf_run(struct conf_parse *p)
{
	int rc;

	ini_allow_multiline = 0;
	rc = ini_parse_stream(conf_reader, p, conf_key_handler, p);
	if (rc == -2) {
		conf_error(p, "out of memory");
		return -ENOMEM;
	}
	return conf_check_semantics(p);
}

/* Parse from fp or text (one of them NULL) into c, from the defaults. */
static int
conf_parse_from(const char *name, FILE *fp, const char *text, struct conf *c,
		conf_err_fn err, void *arg)
{
	struct conf_parse p;

	memset(&p, 0, sizeof(p));
	conf_defaults(c);
	p.c = c;
	p.name = name;
	p.err = err;
	p.arg = arg;
	p.fp = fp;
	p.text = text;
	snprintf(c->path, sizeof(c->path), "%s", name);
	return conf_run(&p);
}

int
conf_load(const char *path, struct conf *c, conf_err_fn err, void *arg)
{
	FILE *fp = fopen(path, "re");
	int rc;

	if (fp == NULL) {
		rc = -errno;
		conf_defaults(c);
		if (err) {
			char msg[PATH_MAX + 64];

			snprintf(msg, sizeof(msg), "%s: %s", path,
				 strerror(-rc));
			err(arg, msg);
		}
		return rc;
	}
	rc = conf_parse_from(path, fp, NULL, c, err, arg);
	fclose(fp);
	return rc;
}

int
conf_load_string(const char *name, const char *text, struct conf *c,
		 conf_err_fn err, void *arg)
{
	return conf_parse_from(name, NULL, text, c, err, arg);
}

const struct conf_cg *
conf_match(const struct conf *c, const char *path)
{
	int i;

	for (i = 0; i < c->nsections; i++)
		if (fnmatch(c->sections[i].pattern, path, 0) == 0)
			return &c->sections[i];
	return &c->defaults;
}
