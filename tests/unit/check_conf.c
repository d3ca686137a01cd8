/*
 * check_conf.c: memreclaim.conf parsing: the built-in defaults, a good file
 * with every key, bad files with their exact ("golden") error messages,
 * section matching, and the shipped contrib/memreclaim.conf.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "check_main.h"
#include "daemon_test.h"

static char errs[8192];

static void
collect(void *arg, const char *msg)
{
	(void)arg;
	strncat(errs, msg, sizeof(errs) - strlen(errs) - 2);
	strcat(errs, "\n");
}

static int
load(const char *text, struct conf *c)
{
	errs[0] = '\0';
	return conf_load_string("t.conf", text, c, collect, NULL);
}

START_TEST(test_conf_defaults)
{
	struct conf c;

	conf_defaults(&c);
	ck_assert_str_eq(c.socket, "/run/memreclaim/memreclaimd.sock");
	ck_assert_uint_eq(c.socket_mode, 0660);
	ck_assert_uint_eq(c.tick_ms, 1000);
	ck_assert_str_eq(c.metrics, "127.0.0.1:9464");
	ck_assert_int_eq(c.log_level, LOG_INFO);
	ck_assert_str_eq(c.proc_root, "/proc");
	ck_assert_int_eq(c.defaults.watch, 1);
	ck_assert_uint_eq(c.defaults.trigger_window_ms, 2000);
	ck_assert_int_eq(c.nsections, 0);
	ck_assert_ptr_eq(conf_match(&c, "/any"), &c.defaults);
	/* an empty file is the defaults */
	ck_assert_int_eq(load("", &c), 0);
	ck_assert_str_eq(errs, "");
}
END_TEST

START_TEST(test_conf_good_file_every_key)
{
	struct conf c;
	const struct conf_cg *g;

	ck_assert_int_eq(load("; comment\n"
			      "# another\n"
			      "[memreclaimd]\n"
			      "socket = /tmp/x.sock\n"
			      "socket_mode = 0600\n"
			      "socket_group = adm\n"
			      "tick_ms = 500\n"
			      "metrics = 127.0.0.1:9999\n"
			      "log_level = debug\n"
			      "max_clients = 10\n"
			      "max_frame_rate = 20\n"
			      "trim_deadline_ms = 300\n"
			      "memory_root = /fake/mem\n"
			      "unified_root = /fake/uni\n"
			      "proc_root = /fake/proc\n"
			      "headroom_percent = 20  ; inline comment\n"
			      "\n"
			      "[cgroup /system.slice/*]\n"
			      "watch = no\n"
			      "\n"
			      "[cgroup /box/*]\n"
			      "headroom_min = 64MiB\n"
			      "pressure_target = 1.5\n"
			      "pressure_urgent = 20\n"
			      "full_urgent = 7\n"
			      "cooldown_ms = 1000\n"
			      "max_cooldown_ms = 8000\n"
			      "min_trim = 512K\n"
			      "soft_limits = off\n"
			      "order = idle\n"
			      "trigger_stall_ms = 200\n"
			      "trigger_window_ms = 4000\n",
			      &c),
			 0);
	ck_assert_str_eq(errs, "");
	ck_assert_str_eq(c.socket, "/tmp/x.sock");
	ck_assert_uint_eq(c.socket_mode, 0600);
	ck_assert_str_eq(c.socket_group, "adm");
	ck_assert_uint_eq(c.tick_ms, 500);
	ck_assert_str_eq(c.metrics, "127.0.0.1:9999");
	ck_assert_int_eq(c.log_level, LOG_DEBUG);
	ck_assert_uint_eq(c.max_clients, 10);
	ck_assert_uint_eq(c.max_frame_rate, 20);
	ck_assert_uint_eq(c.trim_deadline_ms, 300);
	ck_assert_str_eq(c.memory_root, "/fake/mem");
	ck_assert_str_eq(c.unified_root, "/fake/uni");
	ck_assert_str_eq(c.proc_root, "/fake/proc");
	ck_assert_int_eq(c.nsections, 2);
	ck_assert_int_eq(conf_match(&c, "/system.slice/foo")->watch, 0);
	g = conf_match(&c, "/box/app");
	ck_assert_ptr_eq(g, &c.sections[1]);
	ck_assert_int_eq(g->line, 21);
	/* inherited from [memreclaimd] */
	ck_assert_double_eq_tol(g->headroom_percent, 20.0, 1e-9);
	ck_assert_uint_eq(g->headroom_min_bytes, 64ull << 20);
	ck_assert_double_eq_tol(g->pressure_target, 1.5, 1e-9);
	ck_assert_double_eq_tol(g->pressure_urgent, 20.0, 1e-9);
	ck_assert_double_eq_tol(g->full_urgent, 7.0, 1e-9);
	ck_assert_uint_eq(g->cooldown_ms, 1000);
	ck_assert_uint_eq(g->max_cooldown_ms, 8000);
	ck_assert_uint_eq(g->min_trim_bytes, 512 << 10);
	ck_assert_int_eq(g->soft_limits, 0);
	ck_assert_int_eq(g->order, CONF_ORDER_IDLE);
	ck_assert_uint_eq(g->trigger_stall_ms, 200);
	ck_assert_uint_eq(g->trigger_window_ms, 4000);
	ck_assert_ptr_eq(conf_match(&c, "/other"), &c.defaults);
	ck_assert_double_eq_tol(c.defaults.headroom_percent, 20.0, 1e-9);
	/* an empty metrics address disables the endpoint */
	ck_assert_int_eq(load("[memreclaimd]\nmetrics =\n", &c), 0);
	ck_assert_str_eq(c.metrics, "");
}
END_TEST

START_TEST(test_conf_bad_file_reports_every_error)
{
	struct conf c;
	int rc;

	rc = load("tick_ms = 5\n"		   /* 1 */
		  "[memreclaimd]\n"		   /* 2 */
		  "tick_ms = 5\n"		   /* 3 */
		  "socket = relative.sock\n"	   /* 4 */
		  "socket_mode = 0999\n"	   /* 5 */
		  "log_level = chatty\n"	   /* 6 */
		  "metrics = nowhere\n"		   /* 7 */
		  "colour = blue\n"		   /* 8 */
		  "this line has no equals sign\n" /* 9 */
		  "[cgroup box]\n"		   /* 10 */
		  "watch = yes\n"		   /* 11 */
		  "[daemon]\n"			   /* 12 */
		  "[cgroup /a/*]\n"		   /* 13 */
		  "headroom_percent = 95\n"	   /* 14 */
		  "min_trim = 12 parsecs\n"	   /* 15 */
		  "order = random\n"		   /* 16 */
		  "soft_limits = maybe\n"	   /* 17 */
		  "pressure_target = 5\n"	   /* 18 */
		  "pressure_urgent = 2\n"	   /* 19 */
		  "frobnicate = 1\n"		   /* 20 */
		  "[broken\n"			   /* 21 */
		  "= value\n"			   /* 22 */
		  "trigger_window_ms = 100\n",	   /* 23 */
		  &c);
	ck_assert_str_eq(
	    errs,
	    "t.conf:1: key 'tick_ms' outside a section\n"
	    "t.conf:3: bad value for tick_ms: '5'\n"
	    "t.conf:4: bad value for socket: 'relative.sock'\n"
	    "t.conf:5: bad value for socket_mode: '0999'\n"
	    "t.conf:6: bad value for log_level: 'chatty'\n"
	    "t.conf:7: bad value for metrics: 'nowhere'\n"
	    "t.conf:8: unknown key 'colour' in [memreclaimd]\n"
	    "t.conf:9: syntax error: expected 'key = value'\n"
	    "t.conf:10: cgroup pattern must start with '/': 'box'\n"
	    "t.conf:12: unknown section [daemon]\n"
	    "t.conf:14: bad value for headroom_percent: '95'\n"
	    "t.conf:15: bad value for min_trim: '12 parsecs'\n"
	    "t.conf:16: bad value for order: 'random'\n"
	    "t.conf:17: bad value for soft_limits: 'maybe'\n"
	    "t.conf:20: unknown key 'frobnicate' in [cgroup /a/*]\n"
	    "t.conf:21: syntax error: missing ']'\n"
	    "t.conf:22: syntax error: missing key before '='\n"
	    "t.conf:23: bad value for trigger_window_ms: '100'\n"
	    "t.conf:13: pressure_urgent (2) is below pressure_target (5)\n");
	ck_assert_int_eq(rc, 19);
}
END_TEST

/* Percentages are 0 to 100 (memreclaim.conf(5)); integers within their
 * documented range. */
START_TEST(test_conf_percent_and_range_bounds)
{
	struct conf c;

	load("[memreclaimd]\n"
	     "full_urgent = 150\n"
	     "pressure_target = 100.5\n"
	     "pressure_urgent = 100\n", &c);
	ck_assert_msg(strstr(errs, "bad value for full_urgent: '150'") &&
			  strstr(errs, "bad value for pressure_target: "
				       "'100.5'") &&
			  !strstr(errs, "pressure_urgent: '100'"),
		      "errors: %s", errs);
}
END_TEST

START_TEST(test_conf_file_errors_name_the_file)
{
	struct conf c;
	char path[] = "/tmp/check_conf.XXXXXX";
	int fd;
	FILE *f;

	errs[0] = '\0';
	ck_assert_int_eq(
	    conf_load("/nonexistent/memreclaim.conf", &c, collect, NULL),
	    -ENOENT);
	ck_assert_str_eq(errs, "/nonexistent/memreclaim.conf: "
			       "No such file or directory\n");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs("[memreclaimd]\nmax_clients = 0\n", f);
	fclose(f);
	errs[0] = '\0';
	ck_assert_int_eq(conf_load(path, &c, collect, NULL), 1);
	{
		char want[256];

		snprintf(want, sizeof(want),
			 "%s:2: bad value for max_clients: '0'\n", path);
		ck_assert_str_eq(errs, want);
	}
	unlink(path);
}
END_TEST

/* The shipped example must load cleanly and change nothing: every key in
 * it is commented out at its default. */
/* A file name of 600 characters leaves no room in the 512-byte message:
 * the message is cut, not written past the buffer (which a stack
 * protector or AddressSanitizer turns into a crash). */
START_TEST(test_conf_error_with_a_long_file_name_is_cut_not_spilled)
{
	char name[601];
	struct conf c;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	errs[0] = '\0';
	ck_assert_int_eq(conf_load_string(name, "[memreclaimd]\nbogus = 1\n",
					  &c, collect, NULL),
			 1);
	ck_assert_uint_eq(strlen(errs), 511 + 1); /* cut, plus collect's \n */
	ck_assert(strncmp(errs, name, 511) == 0);
}
END_TEST

START_TEST(test_conf_contrib_example_is_defaults)
{
	struct conf c, d;
	char path[PATH_MAX];
	const char *src = getenv("top_srcdir");

	snprintf(path, sizeof(path), "%s/contrib/memreclaim.conf",
		 src ? src : "..");
	errs[0] = '\0';
	ck_assert_int_eq(conf_load(path, &c, collect, NULL), 0);
	ck_assert_str_eq(errs, "");
	conf_defaults(&d);
	snprintf(d.path, sizeof(d.path), "%s", path);
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
}
END_TEST

static void
count_error(void *arg, const char *msg)
{
	int *n = arg;

	ck_assert_ptr_nonnull(strstr(msg, "fuzz:"));
	(*n)++;
}

/* Seeded mutations of a good file: never a crash, and the count of
 * errors reported always equals the count returned. */
START_TEST(test_conf_mutations)
{
	static const char good[] =
	    "[memreclaimd]\nsocket = /tmp/x.sock\ntick_ms = 500\n"
	    "metrics = 127.0.0.1:9999\n[cgroup /box/*]\nmin_trim = 512K\n"
	    "order = idle\npressure_target = 1.5\n";
	unsigned int seed = 4242;
	struct conf c;
	int i, clean = 0, dirty = 0;

	for (i = 0; i < 5000; i++) {
		char buf[sizeof(good)];
		int j, n = 0, rc, flips = 1 + (int)(rand_r(&seed) % 4);

		memcpy(buf, good, sizeof(good));
		for (j = 0; j < flips; j++)
			buf[rand_r(&seed) % (sizeof(good) - 1)] =
			    (char)(1 + rand_r(&seed) % 255);
		rc = conf_load_string("fuzz", buf, &c, count_error, &n);
		ck_assert_int_ge(rc, 0);
		ck_assert_int_eq(rc, n);
		if (rc == 0)
			clean++;
		else
			dirty++;
	}
	ck_assert_int_gt(clean, 0);
	ck_assert_int_gt(dirty, 0);
}
END_TEST

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), n);
	fclose(f);
	return buf;
}

/* Uncomment every ";key = value" of the example (up to its "Example:"
 * part): the values shown must be exactly the built-in defaults, and every
 * key must be documented in memreclaim.conf(5). */
START_TEST(test_conf_contrib_values_are_the_defaults_and_documented)
{
	const char *src = getenv("top_srcdir");
	char path[PATH_MAX], key[64], want[96];
	char *text, *man, *out, *line, *save = NULL;
	struct conf c, d;
	int keys = 0;

	snprintf(path, sizeof(path), "%s/contrib/memreclaim.conf",
		 src ? src : "..");
	text = slurp(path);
	snprintf(path, sizeof(path), "%s/man/memreclaim.conf.5",
		 src ? src : "..");
	man = slurp(path);
	out = calloc(1, strlen(text) + 1);
	ck_assert_ptr_nonnull(out);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "Example:"))
			break;
		if (line[0] == ';' &&
		    sscanf(line + 1, "%63[a-z_] =", key) == 1) {
			keys++;
			snprintf(want, sizeof(want), "\n.It Cm %s ", key);
			ck_assert_msg(strstr(man, want) != NULL,
				      "key %s not in memreclaim.conf(5)", key);
			line++;
		}
		strcat(out, line);
		strcat(out, "\n");
	}
	errs[0] = '\0';
	ck_assert_int_eq(conf_load_string("example", out, &c, collect, NULL),
			 0);
	ck_assert_str_eq(errs, "");
	conf_defaults(&d);
	snprintf(d.path, sizeof(d.path), "example");
	ck_assert_int_eq(memcmp(&c, &d, sizeof(c)), 0);
	ck_assert_int_eq(keys, 30); /* 15 daemon keys, 15 per-cgroup */
	free(out);
	free(man);
	free(text);
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_conf_defaults);
	tcase_add_test(tc, test_conf_good_file_every_key);
	tcase_add_test(tc, test_conf_bad_file_reports_every_error);
	tcase_add_test(tc, test_conf_percent_and_range_bounds);
	tcase_add_test(tc, test_conf_file_errors_name_the_file);
	tcase_add_test(tc, test_conf_mutations);
	tcase_add_test(tc, test_conf_contrib_example_is_defaults);
	tcase_add_test(tc,
		       test_conf_error_with_a_long_file_name_is_cut_not_spilled);
	tcase_add_test(
	    tc, test_conf_contrib_values_are_the_defaults_and_documented);
	suite_add_tcase(s, tc);
	return s;
}
